/**
 * Log lines as a person reads them, and where pino's lines go: the console (words by default,
 * JSON on request, filtered by the command) and every run's logs/orchestrator.jsonl.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { pythonLogLine, stderrLine } from '../../orchestrator/agent/job-log-lines.js';
import { jobLogger } from '../../orchestrator/log.js';
import { humanLogLine } from '../../orchestrator/log-format.js';
import { LogSink, ORCHESTRATOR_LOG } from '../../orchestrator/log-sink.js';

const at = (h: number, m: number, s: number) => new Date(2026, 0, 1, h, m, s).toISOString();

describe('human log lines', () => {
  it('time and message; warnings and errors say so, with the text that explains them', () => {
    expect(
      humanLogLine({
        level: 30,
        time: at(9, 5, 7),
        msg: 'round 1 · sample · shard 2: 512 responses in 24 s',
        run: 'r',
        worker: 'w',
      }),
    ).toBe('09:05:07  round 1 · sample · shard 2: 512 responses in 24 s');
    expect(
      humanLogLine({
        level: 40,
        time: at(9, 5, 7),
        msg: 'round 1 · train: failed with Internal',
        message: 'boom\nTraceback ...',
      }),
    ).toBe('09:05:07  warning: round 1 · train: failed with Internal — boom');
    expect(
      humanLogLine({ level: 50, time: at(9, 5, 7), msg: 'run r failed', err: 'r.r1.train.s000: out of memory' }),
    ).toBe('09:05:07  error: run r failed — r.r1.train.s000: out of memory');
    // The explanation is not repeated when the message already carries it.
    expect(humanLogLine({ level: 40, time: at(1, 2, 3), msg: 'cannot start: boom', err: 'boom' })).toBe(
      '01:02:03  warning: cannot start: boom',
    );
  });

  it("the sink prints words or JSON, shows what the command wants, and files a run's lines in its directory", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipa-sink-'));
    const shown: string[] = [];
    const sink = new LogSink();
    sink.configureConsole({ writeLine: (t) => shown.push(t), show: (e) => e.hidden !== true });
    sink.routeRun('run-a', dir, { driving: true });
    const log = pino({ base: undefined, timestamp: () => `,"time":"${at(10, 0, 0)}"` }, sink);
    log.info({ run: 'run-a' }, 'about run a');
    log.info('about no run');
    log.info({ run: 'other' }, 'about another run');
    log.info({ hidden: true }, 'not on the console');
    sink.configureConsole({ format: 'json', writeLine: (t) => shown.push(t) });
    log.warn({ run: 'run-a' }, 'as json');
    expect(shown.slice(0, 3)).toEqual([
      '10:00:00  about run a',
      '10:00:00  about no run',
      '10:00:00  about another run',
    ]);
    expect(JSON.parse(shown[3])).toMatchObject({ level: 40, run: 'run-a', msg: 'as json' });
    const filed = readFileSync(join(dir, ORCHESTRATOR_LOG), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).msg);
    expect(filed).toEqual(['about run a', 'about no run', 'not on the console', 'as json']);
    // A run directory removed under the logger is not created again.
    rmSync(dir, { recursive: true });
    log.info({ run: 'run-a' }, 'after removal');
    expect(existsSync(dir)).toBe(false);
  });

  it("a job logger's lines also go to that job's log, as words without the place (every job has a log, Node jobs too)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipa-joblog-'));
    const sink = new LogSink();
    sink.configureConsole({ writeLine: () => undefined });
    sink.routeRun('r', dir);
    const log = pino({ base: undefined, timestamp: () => `,"time":"${at(11, 0, 0)}"` }, sink);
    const job = jobLogger(log, {
      run: 'r',
      round: 1,
      stage: 'advance',
      shard: 0,
      job: 'r.r1.advance.s000',
      place: 'round 1 · advance',
    });
    job.info('round 2 opens with 12 seeds in 2 shards');
    job.warn({ err: 'boom' }, 'failed with Internal');
    job.debug('python log'); // below info: the Python lines are in the file already
    jobLogger(log, { run: 'r', round: 1, stage: 'sample', shard: 0, job: '../escape', place: 'x' }).info('never filed');
    log.info({ run: 'r' }, 'about the run, no job');
    expect(readFileSync(join(dir, 'logs', 'r.r1.advance.s000.log'), 'utf8')).toBe(
      '11:00:00  round 2 opens with 12 seeds in 2 shards\n11:00:00  warning: failed with Internal — boom\n',
    );
    expect(existsSync(join(dir, 'escape.log'))).toBe(false);
    expect(readFileSync(join(dir, ORCHESTRATOR_LOG), 'utf8')).toContain('round 1 · advance: round 2 opens');
  });

  it("a job logger puts the job's place before each message and keeps its coordinates as fields", () => {
    const lines: string[] = [];
    const log = pino({ base: undefined }, { write: (l: string) => void lines.push(l) });
    jobLogger(log, { run: 'r', round: 1, stage: 'sample', shard: 2, place: 'round 1 · sample · shard 2' }).info(
      'started (attempt 1)',
    );
    expect(JSON.parse(lines[0])).toMatchObject({
      run: 'r',
      round: 1,
      stage: 'sample',
      shard: 2,
      msg: 'round 1 · sample · shard 2: started (attempt 1)',
    });
  });
});

describe('job log lines', () => {
  const t = new Date(2026, 0, 1, 12, 30, 1);
  it('Python log messages as text, phases as boundaries, tracebacks kept below their line', () => {
    expect(pythonLogLine({ level: 'info', msg: 'building the tiny model', fields: {} }, t)).toBe(
      '12:30:01 building the tiny model',
    );
    expect(pythonLogLine({ level: 'info', msg: 'policy DPO: 40 pairs, 3 epochs', fields: { phase: true } }, t)).toBe(
      '— policy DPO: 40 pairs, 3 epochs —',
    );
    expect(pythonLogLine({ level: 'warning', msg: 'UserWarning: x (a.py:3)', fields: {} }, t)).toBe(
      '12:30:01 warning: UserWarning: x (a.py:3)',
    );
    expect(pythonLogLine({ level: 'error', msg: 'failed', fields: { exc: 'Traceback\n  line\n' } }, t)).toBe(
      '12:30:01 error: failed\nTraceback\n  line',
    );
  });

  it('stderr as a terminal shows it: a bar redrawn with carriage returns keeps its last state; blank lines go', () => {
    expect(stderrLine('Map:   0%|  | 0/2\rMap: 100%|##| 2/2')).toBe('Map: 100%|##| 2/2');
    expect(stderrLine('plain line  ')).toBe('plain line');
    expect(stderrLine('  \r ')).toBeUndefined();
  });
});
