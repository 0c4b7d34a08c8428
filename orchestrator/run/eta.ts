/**
 * How far each unfinished stage of a run is and roughly how long it still needs, from the
 * manifest (jobs done, their durations) and the jobs running now (their reported fraction and
 * time so far). Pure: `ipa run` and `ipa watch` draw their progress lines from it.
 *
 * A job still to start is expected to take the mean duration of the stage's finished jobs (this
 * round's, else any round's); a running job needs its elapsed time scaled by the fraction it has
 * left (or, when its progress file has one, the rate of its current phase's steps). Jobs are
 * assumed to run one after another (one worker slot): with more slots the stage finishes sooner,
 * so the estimate is an upper bound there.
 */
import type { ActiveJob } from '../queue/active-jobs.js';
import type { Stage } from '../plan/stages.js';
import type { LiveJob } from '../store/job-progress.js';
import type { Manifest } from '../store/manifest.js';

export interface StageProgress {
  round: number;
  stage: Stage;
  jobs: number;
  done: number;
  /** Jobs of the stage running now, oldest first. */
  active: ActiveJob[];
  /** Estimated milliseconds until the stage's last job finishes; undefined while nothing hints at it. */
  etaMs?: number;
}

/** The fraction of its work a running job reported, in [0, 1]; undefined before its first count. */
export function fractionDone(job: ActiveJob): number | undefined {
  const p = job.progress;
  if (!p || !(p.total > 0)) return undefined;
  return Math.min(1, Math.max(0, p.done / p.total));
}

/** Mean duration of a finished job of `stage`: this round's jobs first, else every round's. */
function meanJobMs(m: Manifest, round: number, stage: Stage): number | undefined {
  const here = m.rounds.find((r) => r.round === round)?.stages.find((s) => s.stage === stage);
  if (here && here.done > 0 && here.duration_ms > 0) return here.duration_ms / here.done;
  let ms = 0;
  let n = 0;
  for (const r of m.rounds) {
    for (const s of r.stages) {
      if (s.stage === stage && s.done > 0) {
        ms += s.duration_ms;
        n += s.done;
      }
    }
  }
  return n > 0 && ms > 0 ? ms / n : undefined;
}

/** What a running job still needs: its phase's rate, else its own pace once it reported a fraction, else the mean. */
function remainingOf(job: ActiveJob, mean: number | undefined, now: number): number | undefined {
  if (job.etaMs !== undefined) return job.etaMs;
  const elapsed = Math.max(0, now - job.startedAt);
  const f = fractionDone(job);
  if (f !== undefined && f > 0) return (elapsed / f) * (1 - f);
  return mean !== undefined ? Math.max(0, mean - elapsed) : undefined;
}

/** Every stage with unfinished jobs, in run order, with its running jobs and an estimate. */
export function stageProgress(m: Manifest, active: readonly ActiveJob[], now: number): StageProgress[] {
  const out: StageProgress[] = [];
  for (const r of m.rounds) {
    for (const s of r.stages) {
      if (s.done >= s.jobs) continue;
      const running = active.filter((a) => a.round === r.round && a.stage === s.stage);
      const mean = meanJobMs(m, r.round, s.stage);
      const waiting = Math.max(0, s.jobs - s.done - running.length);
      const parts = running.map((a) => remainingOf(a, mean, now));
      const known = parts.every((p) => p !== undefined) && (waiting === 0 || mean !== undefined);
      const etaMs = known ? (parts as number[]).reduce((a, b) => a + b, 0) + waiting * (mean ?? 0) : undefined;
      out.push({ round: r.round, stage: s.stage, jobs: s.jobs, done: s.done, active: running, etaMs });
    }
  }
  return out;
}

/** A job running now as its progress file shows it (store/job-progress.ts), in the shape the estimates take. */
export function activeFromProgress(l: LiveJob): ActiveJob {
  return {
    id: l.job_id,
    round: l.round,
    stage: l.stage,
    shard: l.shard,
    startedAt: Date.parse(l.started_at),
    progress: { done: l.done, total: l.total, metrics: l.metrics },
    etaMs: l.eta_ms,
  };
}
