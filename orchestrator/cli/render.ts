/**
 * A run's state as text for `ipa status` / `ipa watch`: a header (state, jobs, time), each round's
 * stages with a bar, jobs done and what they produced in words ("1536 responses", "441 pairs, 21
 * feedback pairs, 138 challenging seeds"), an estimate for unfinished stages, then the problems.
 */
import { SHARDED_STAGES } from '../plan/stages.js';
import { runProblems } from '../report/problems.js';
import { describeOutputs, duration, runningWords } from '../report/stage-words.js';
import { activeFromProgress, stageProgress } from '../run/eta.js';
import type { LiveJob } from '../store/job-progress.js';
import type { Manifest, StageSummary } from '../store/manifest.js';
import { runDurationMs } from '../store/run-duration.js';
import { ENDED_STATES } from '../store/run-store.js';

export function bar(done: number, total: number, width = 20): string {
  const f = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(f)}${'.'.repeat(width - f)}]`;
}

export interface StatusOptions {
  /** The run directory (the problems name files in it). */
  dir: string;
  /** @defaultValue Date.now() */
  now?: number;
  /** The command that continues the run, shown when it is interrupted. */
  continueWith?: string;
  /** The jobs running now (their progress files, store/job-progress.ts), shown under their stage. */
  running?: readonly LiveJob[];
}

export function statusHeader(m: Manifest, now: number): string {
  const recomputed = m.totals.recomputed ? `, ${m.totals.recomputed} recomputed` : '';
  const time = `${ENDED_STATES.has(m.run.state) ? 'took' : 'elapsed'} ${duration(runDurationMs(m.run, now))}`;
  return `run ${m.run.id}  ${m.run.state}  ${m.totals.done} of ${m.totals.jobs} jobs done${recomputed}  ${time}`;
}

/** "  1,204 tokens/s on vllm": generated tokens over generation seconds, summed over the stage's jobs. */
export function generationRate(s: Pick<StageSummary, 'metrics' | 'engines'>): string {
  const tokens = s.metrics.generated_tokens;
  const seconds = s.metrics.generation_s;
  if (!s.engines?.length || !tokens || !seconds) return '';
  return `  ${Math.round(tokens / seconds).toLocaleString('en-US')} tokens/s on ${s.engines.join(' + ')}`;
}

function stageLine(s: StageSummary, etaMs: number | undefined): string {
  const produced = s.done ? `${describeOutputs(s.stage, s.outputs, s.metrics)}${generationRate(s)}` : '';
  const retries = s.attempts > s.done ? `  (${s.attempts} attempts)` : '';
  const failed = s.failed_items ? `  ${s.failed_items} items failed` : '';
  const eta = etaMs !== undefined ? `  ~${duration(etaMs)} left` : '';
  return `  ${s.stage.padEnd(17)} ${bar(s.done, s.jobs)} ${String(s.done).padStart(3)}/${String(s.jobs).padEnd(3)} ${produced}${failed}${retries}${eta}`.trimEnd();
}

/** A running job under its stage's line: `      now shard 2: ` and its `runningWords`. */
export function runningLine(j: LiveJob, now: number): string {
  return `      ${SHARDED_STAGES.has(j.stage) ? `now shard ${j.shard}` : 'now'}: ${runningWords(j, now)}`;
}

/** Everything below the header: rounds, stages (with the jobs running now), problems. */
export function statusBody(m: Manifest, o: StatusOptions): string[] {
  const now = o.now ?? Date.now();
  const lines: string[] = [];
  if (m.run.error) lines.push(`error: ${m.run.error}`);
  if (m.run.state === 'interrupted' && o.continueWith)
    lines.push(`interrupted (Ctrl-C); continue it with:  ${o.continueWith}`);
  const running = o.running ?? [];
  const etas = ENDED_STATES.has(m.run.state) ? [] : stageProgress(m, running.map(activeFromProgress), now);
  for (const r of m.rounds) {
    if (!r.stages.length) {
      lines.push(`round ${r.round}: not started`);
      continue;
    }
    // A round evaluated without a held-out number (lmms-eval only), or not yet: "–", never 0 %.
    const ev = `  held-out acc ${r.eval?.overall == null ? '–' : `${(100 * r.eval.overall).toFixed(1)}%`}`;
    lines.push(`round ${r.round}${r.round > 0 ? ` (${r.shards} shard${r.shards === 1 ? '' : 's'})` : ''}${ev}`);
    for (const s of r.stages) {
      lines.push(stageLine(s, etas.find((e) => e.round === r.round && e.stage === s.stage)?.etaMs));
      for (const j of running) if (j.round === r.round && j.stage === s.stage) lines.push(runningLine(j, now));
    }
  }
  const problems = runProblems(m, o.dir);
  if (problems.length) lines.push('problems:', ...problems.map((p) => `  ${p.text}`));
  return lines;
}

export function renderStatus(m: Manifest, o: StatusOptions): string {
  return [statusHeader(m, o.now ?? Date.now()), ...statusBody(m, o)].join('\n');
}
