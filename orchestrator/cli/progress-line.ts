/**
 * The one live line under a run's event lines: time so far, each unfinished stage's count and
 * estimated time left, and what is running now with its reported progress, e.g.
 *   [3m12s] round 1: sample 4/6 ~1m10s, verify 3/6 ~2m05s | now sample shard 4 48/64 (32 s)
 *   [5m40s] round 0: sft 0/1 ~2m10s | now sft: warm-up SFT 12/80, loss 2.310 (1m02s)
 * and `ipa worker`'s line about the jobs it runs.
 */
import type { ActiveJob } from '../queue/active-jobs.js';
import { duration, reportWords } from '../report/stage-words.js';
import type { StageProgress } from '../run/eta.js';
import { SHARDED_STAGES } from '../plan/stages.js';

/** Stages a person does not wait on (Node bookkeeping) unless they are running. */
const QUIET_STAGES = new Set(['advance']);

function jobText(a: ActiveJob, now: number, withRound = false): string {
  const where = `${withRound ? `round ${a.round} ` : ''}${SHARDED_STAGES.has(a.stage) ? `${a.stage} shard ${a.shard}` : a.stage}`;
  return `${where}: ${reportWords(a.progress)} (${duration(now - a.startedAt)})`;
}

/** Cuts `text` to `width` characters, marking the cut. */
export function fit(text: string, width: number | undefined): string {
  if (!width || width < 10 || text.length <= width) return text;
  return `${text.slice(0, width - 1)}…`;
}

export function progressLine(opts: {
  elapsedMs: number;
  stages: readonly StageProgress[];
  now: number;
  width?: number;
}): string {
  const shown = opts.stages.filter((s) => !QUIET_STAGES.has(s.stage) || s.active.length);
  const rounds = [...new Set(shown.map((s) => s.round))];
  const counts = rounds.map((r) => {
    const parts = shown
      .filter((s) => s.round === r)
      .map((s) => `${s.stage} ${s.done}/${s.jobs}${s.etaMs !== undefined ? ` ~${duration(s.etaMs)}` : ''}`);
    return `round ${r}: ${parts.join(', ')}`;
  });
  const active = opts.stages.flatMap((s) => s.active);
  const now = active.length
    ? `now ${active.map((a) => jobText(a, opts.now)).join('; ')}`
    : shown.length
      ? 'waiting for a free worker'
      : 'finishing';
  return fit(`[${duration(opts.elapsedMs)}] ${[...counts, now].join(' | ')}`, opts.width);
}

/** `ipa worker`'s live line: time up, jobs done, and each running job with its progress. */
export function workerLine(opts: {
  upMs: number;
  done: number;
  jobs: readonly ActiveJob[];
  now: number;
  width?: number;
}): string {
  const now = opts.jobs.length
    ? `now ${opts.jobs.map((j) => jobText(j, opts.now, true)).join('; ')}`
    : 'idle: waiting for jobs';
  return fit(`[${duration(opts.upMs)}] ${opts.done} job${opts.done === 1 ? '' : 's'} done | ${now}`, opts.width);
}
