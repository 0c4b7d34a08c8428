/**
 * The `advance` control job (Node only): closes round r and opens round r+1 — its seeds are all
 * seeds or round r's challenging ones, split into shards — or marks the run completed after the
 * last round. Idempotent: shards are deterministic and a job already queued is not queued twice.
 * The opening is recorded before the round is queued (see `openNextRound`).
 */
import { shardFile } from '../plan/paths.js';
import { flattenPlan, planRound, roundCount, shardRows } from '../plan/planner.js';
import { atomicWriteJsonl, readJsonl } from '../store/atomic.js';
import { verifyInputs } from '../store/integrity.js';
import { seedSources } from '../store/job-inputs.js';
import type { OutputRecord, RunStore } from '../store/run-store.js';
import { MAX_SHARDS, type Recipe } from '../recipe/schema.js';
import { ExitCode, IpaError } from '../errors.js';
import { forgetFinishedShards } from '../queue/chains.js';
import { queueFrontier } from './queue-round.js';
import type { QueueSet } from '../queue/queues.js';
import { writeManifest } from '../store/manifest.js';

/**
 * Seed rows of round `next`: all seeds, or the challenging seeds of the round before it; each
 * file is checked against the done record that wrote it first (`IntegrityError` otherwise).
 */
export function seedsForRound(store: RunStore, recipe: Recipe, next: number): Record<string, unknown>[] {
  const files = seedSources(store, recipe, next);
  verifyInputs(store, files);
  return files.flatMap((p) => readJsonl<Record<string, unknown>>(p));
}

export interface AdvanceResult {
  outputs: Record<string, OutputRecord>;
  metrics: Record<string, unknown>;
}

/**
 * Opens round `round + 1` on disk — its seed shards — or marks the run completed after the last
 * round. Its done record must be written before `queueNextRound` makes the round's jobs
 * visible: agents hold a round open only once that record exists (agent/trusted-runs.ts), so a
 * job taken the moment it is queued is already in the plan (issue 30).
 */
export function openNextRound(store: RunStore, recipe: Recipe, round: number): AdvanceResult {
  if (round >= roundCount(recipe)) {
    store.setState('completed');
    writeManifest(store);
    return { outputs: {}, metrics: { completed: true } };
  }
  const next = round + 1;
  const rows = seedsForRound(store, recipe, next);
  const shards = shardRows(rows, recipe.data.shard_size);
  // The recipe's own bound covers the seeds known before the data was read; this covers the rest.
  if (shards.length > MAX_SHARDS) {
    throw new IpaError(
      `round ${next} would have ${rows.length} seeds in ${shards.length} shards of ${recipe.data.shard_size}, more than the ${MAX_SHARDS} a round may have; raise data.shard_size to at least ${Math.ceil(rows.length / MAX_SHARDS)} or set data.max_seeds`,
      ExitCode.invalidInput,
    );
  }
  const outputs: Record<string, OutputRecord> = {};
  shards.forEach((shardRowsK, k) => {
    outputs[`seeds_${k}`] = atomicWriteJsonl(store.abs(shardFile(next, 'seeds', k)), shardRowsK);
  });
  const jobs = flattenPlan(planRound(recipe, store.id, next, shards.length, store.doneIds())).length;
  return { outputs, metrics: { next_round: next, seeds: rows.length, shards: shards.length, jobs_planned: jobs } };
}

/**
 * Queues what round `round + 1` still needs, after its opening is recorded. Idempotent: a retried
 * advance (an agent killed between the record and the queueing) queues it then; a job already
 * queued stays as it is. Returns the number of jobs the round's frontier holds.
 */
export async function queueNextRound(
  store: RunStore,
  recipe: Recipe,
  round: number,
  queues: QueueSet,
): Promise<number> {
  if (round >= roundCount(recipe)) return 0;
  const queued = await queueFrontier(store, recipe, round + 1, queues);
  await forgetFinishedShards(queues, store.id, round);
  writeManifest(store);
  return queued;
}
