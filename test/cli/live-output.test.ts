/**
 * The pieces of the live terminal output, tested directly: the progress line, the status line
 * redrawn above event lines (and never drawn without a terminal), the block `ipa watch` redraws,
 * and the two-step Ctrl-C.
 */
import { describe, expect, it } from 'vitest';
import { onInterrupt } from '../../orchestrator/cli/interrupt.js';
import { fit, progressLine, workerLine } from '../../orchestrator/cli/progress-line.js';
import { LiveTerminal, RedrawnBlock } from '../../orchestrator/cli/terminal.js';
import type { ActiveJob } from '../../orchestrator/queue/active-jobs.js';
import type { StageProgress } from '../../orchestrator/run/eta.js';

const NOW = 10_000_000;
const active = (
  stage: ActiveJob['stage'],
  shard: number,
  agoMs: number,
  progress?: ActiveJob['progress'],
  round = 1,
): ActiveJob => ({ id: 'x', round, stage, shard, startedAt: NOW - agoMs, progress });

/** A stream that records what is written, and what a terminal would show line by line. */
function fakeStream(tty: boolean, columns = 80, rows = 24) {
  const chunks: string[] = [];
  const stream = {
    isTTY: tty,
    columns,
    rows,
    write: (s: string) => (chunks.push(s), true),
  } as unknown as NodeJS.WriteStream;
  return { stream, text: () => chunks.join('') };
}

describe('progress line', () => {
  it('elapsed time, each unfinished stage with its estimate, and what runs now with its progress', () => {
    const stages: StageProgress[] = [
      {
        round: 1,
        stage: 'sample',
        jobs: 6,
        done: 4,
        active: [active('sample', 4, 32_000, { done: 48, total: 64, metrics: {} })],
        etaMs: 70_000,
      },
      { round: 1, stage: 'verify', jobs: 6, done: 3, active: [], etaMs: 125_000 },
      { round: 1, stage: 'advance', jobs: 1, done: 0, active: [] },
    ];
    expect(progressLine({ elapsedMs: 192_000, stages, now: NOW })).toBe(
      '[3m12s] round 1: sample 4/6 ~1m10s, verify 3/6 ~2m05s | now sample shard 4: 48/64 (32 s)',
    );
  });

  it('a training job shows its phase, step and loss; a job that has said nothing yet is "starting"', () => {
    const train: StageProgress = {
      round: 0,
      stage: 'sft',
      jobs: 1,
      done: 0,
      active: [active('sft', 0, 62_000, { done: 12, total: 80, metrics: { phase: 'warm-up SFT', loss: 2.31 } }, 0)],
    };
    expect(progressLine({ elapsedMs: 340_000, stages: [train], now: NOW })).toBe(
      '[5m40s] round 0: sft 0/1 | now sft: warm-up SFT 12/80, loss 2.310 (1m02s)',
    );
    const quiet: StageProgress = { ...train, active: [active('sft', 0, 3_000, undefined, 0)] };
    expect(progressLine({ elapsedMs: 3_000, stages: [quiet], now: NOW })).toContain('now sft: starting (3.0 s)');
    expect(progressLine({ elapsedMs: 1, stages: [{ ...train, active: [] }], now: NOW })).toContain(
      'waiting for a free worker',
    );
  });

  it('fits the terminal width', () => {
    expect(fit('abcdefghijklmnop', 12)).toBe('abcdefghijk…');
    expect(fit('short', 12)).toBe('short');
    expect(workerLine({ upMs: 61_000, done: 1, jobs: [], now: NOW })).toBe(
      '[1m01s] 1 job done | idle: waiting for jobs',
    );
    expect(
      workerLine({
        upMs: 1000,
        done: 0,
        jobs: [active('train', 0, 5_000, { done: 0, total: 0, metrics: { phase: 'starting Python' } })],
        now: NOW,
      }),
    ).toBe('[1.0 s] 0 jobs done | now round 1 train: starting Python (5.0 s)');
  });
});

describe('live terminal', () => {
  it('on a terminal, event lines go above a status line that is redrawn in place', () => {
    const { stream, text } = fakeStream(true);
    const t = new LiveTerminal(stream, true);
    t.line('event 1');
    t.setStatus('[1 s] working');
    t.setStatus('[2 s] working');
    t.line('event 2');
    t.clearStatus();
    expect(text()).toBe(
      'event 1\n\r\x1b[2K[1 s] working\r\x1b[2K[2 s] working\r\x1b[2Kevent 2\n[2 s] working\r\x1b[2K',
    );
  });

  it('anywhere else: whole lines only, no status line, no control character', () => {
    const { stream, text } = fakeStream(false);
    const t = new LiveTerminal(stream, false);
    t.line('event 1');
    t.setStatus('[1 s] working');
    t.line('event 2');
    t.clearStatus();
    expect(text()).toBe('event 1\nevent 2\n');
  });

  it('a redrawn block goes back over the lines it drew and clears below, cut to the terminal', () => {
    const { stream, text } = fakeStream(true, 12, 3);
    const b = new RedrawnBlock(stream);
    b.draw(['one', 'two is a long line', 'three']);
    b.draw(['uno']);
    expect(text()).toBe('one\ntwo is a l…\n\x1b[2F\x1b[Juno\n');
  });
});

describe('Ctrl-C in two steps', () => {
  it('the first signal asks for an orderly stop, a later one forces; an echo within the window counts once', () => {
    let t = 0;
    const seen: string[] = [];
    const off = onInterrupt(
      { first: (s) => seen.push(`first ${s}`), again: (s) => seen.push(`again ${s}`) },
      { sameWithinMs: 300, now: () => t },
    );
    try {
      process.emit('SIGINT', 'SIGINT');
      t = 100;
      process.emit('SIGINT', 'SIGINT'); // npx passing the same key press on
      t = 1500;
      process.emit('SIGTERM', 'SIGTERM');
    } finally {
      off();
    }
    expect(seen).toEqual(['first SIGINT', 'again SIGTERM']);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});
