/**
 * `ipa resume`: rebuild a run's queue from its run directory alone. Finished jobs (done records)
 * are kept unless their outputs are damaged (`repairRun`: those and what was computed from them
 * are computed again); the current round's missing jobs are queued again. Works whatever Redis
 * holds: after a worker fleet died, after a Redis restart, after FLUSHALL.
 */
import { planPreparation, planRound, roundCount, flattenPlan } from '../plan/planner.js';
import { jobId, STAGE_QUEUE } from '../plan/stages.js';
import { activeJobsOf } from '../queue/active-jobs.js';
import { registerOnQueue } from '../queue/run-registration.js';
import { registeredRuns, registerRun } from '../store/run-registry.js';
import type { QueueSet } from '../queue/queues.js';
import { shardCount, writeManifest } from '../store/manifest.js';
import { scanRun } from '../store/integrity.js';
import type { RunStore } from '../store/run-store.js';
import { resolve } from 'node:path';
import { IpaError } from '../errors.js';
import { rootLogger } from '../log.js';
import { queueFrontier } from './queue-round.js';
import { repairRun, type RepairResult } from './repair.js';

export interface ResumeResult {
  /** What was found damaged and set aside to be computed again. */
  repair: RepairResult;
  round: number;
  kept: number;
  enqueued: number;
  alreadyQueued: boolean;
  completed: boolean;
}

/** The first round whose `advance` has no done record (rounds before it are finished). */
export function currentRound(store: RunStore): number {
  const recipe = store.recipe();
  const done = store.doneIds();
  for (let r = 0; r <= roundCount(recipe); r++) {
    if (!done.has(jobId({ runId: store.id, round: r, stage: 'advance', shard: 0 }))) return r;
  }
  return roundCount(recipe) + 1;
}

const LIVE = new Set(['waiting', 'waiting-children', 'active', 'delayed', 'prioritized']);

export async function resumeRun(store: RunStore, queues: QueueSet): Promise<ResumeResult> {
  // Repair re-queues the round around the damage, which cannot be while one of its jobs runs: refuse before
  // anything moves, or the run is left set aside and half-queued (found by `make chaos`).
  const running = await activeJobsOf(queues, store.id);
  if (running.length && scanRun(store).length) {
    throw new IpaError(
      `run ${store.id} has damaged outputs and ${running.length} job(s) running (${running.map((j) => j.id).join(', ')}), so it cannot be repaired now; nothing was changed. ` +
        `\`ipa pause ${store.id}\`, wait for the running jobs to end, then \`ipa resume ${store.id}\` again`,
    );
  }
  const repair = repairRun(store);
  const recomputing = repair.damaged.length + repair.dependents.length > 0;
  const recipe = store.recipe();
  const done = store.doneIds();
  const round = currentRound(store);
  if (round > roundCount(recipe)) {
    store.setState('completed', { force: true });
    return { repair, round, kept: done.size, enqueued: 0, alreadyQueued: false, completed: true };
  }
  await queues.applyConcurrency(recipe);
  await registerOnQueue(queues, store.id, store.dir);
  // Resuming a run vouches for it on this host: its agents serve runs registered here (agent/run-anchor.ts).
  registerHere(store);
  // The round's unfinished jobs as Redis holds them: live ones carry on, unless damage is being
  // recomputed (then they may stand on set-aside outputs); stale ones (failed, or completed with
  // their record set aside) would block the same ids from being queued again.
  const plan =
    round === 0
      ? planPreparation(recipe, store.id, done)
      : planRound(recipe, store.id, round, shardCount(store, round), done);
  let live = 0;
  for (const n of flattenPlan(plan)) {
    const job = await queues.queue(STAGE_QUEUE[n.stage]).getJob(jobId({ runId: store.id, ...n }));
    if (!job) continue;
    const state = await job.getState();
    if (LIVE.has(state) && (!recomputing || state === 'active')) {
      live++;
      continue;
    }
    await job.remove().catch((err: unknown) => {
      throw new IpaError(
        `run ${store.id}: job ${job.id} of round ${round} could not be removed to be queued again (${err instanceof Error ? err.message : err}); ` +
          `\`ipa pause ${store.id}\`, wait for the running jobs to end, then \`ipa resume ${store.id}\` again`,
      );
    });
  }
  store.setState('running', { force: true });
  // What can run now; a job still queued stays as it is (the same id is not queued twice).
  const enqueued = await queueFrontier(store, recipe, round, queues, done);
  writeManifest(store);
  return { repair, round, kept: done.size, enqueued, alreadyQueued: live > 0 && !recomputing, completed: false };
}

/** Adds the run to this host's registry unless it is listed there with this directory already. */
function registerHere(store: RunStore): void {
  if (registeredRuns().some((r) => r.id === store.id && resolve(r.dir) === resolve(store.dir))) return;
  const problem = registerRun({ id: store.id, dir: store.dir, created_at: store.info().created_at });
  if (problem)
    rootLogger.warn({ run: store.id }, `${problem}; workers on this host serve the run only under a --run-root`);
}
