/**
 * The `advance` control job (Node only): closes round r and opens round r+1 — its seeds are all
 * seeds or round r's challenging ones, split into shards — or marks the run completed after the
 * last round. Idempotent: shards are deterministic and `addPlan` skips a flow already queued.
 */
import { existsSync } from 'node:fs';
import { SEEDS_FILE, shardFile } from '../plan/paths.js';
import { planRound, roundCount, roundSettings, shardRows } from '../plan/planner.js';
import { atomicWriteJsonl, readJsonl } from '../store/atomic.js';
import type { OutputRecord, RunStore } from '../store/run-store.js';
import type { Recipe } from '../recipe/schema.js';
import { addPlan } from '../queue/flows.js';
import type { QueueSet } from '../queue/queues.js';
import { writeManifest } from '../store/manifest.js';

/** Seed rows of round `next`: all seeds, or the challenging seeds of the round before it. */
export function seedsForRound(store: RunStore, recipe: Recipe, next: number): Record<string, unknown>[] {
  const s = roundSettings(recipe, next);
  if (s.seeds === 'all' || next === 1) return readJsonl(store.abs(SEEDS_FILE));
  const rows: Record<string, unknown>[] = [];
  const recs = store.doneRecords().filter((r) => r.stage === 'pair' && r.round === next - 1).sort((a, b) => a.shard - b.shard);
  for (const r of recs) if (r.outputs.challenging && existsSync(r.outputs.challenging.path)) rows.push(...readJsonl(r.outputs.challenging.path));
  return rows;
}

export interface AdvanceResult {
  outputs: Record<string, OutputRecord>;
  metrics: Record<string, unknown>;
}

export async function advanceRound(store: RunStore, recipe: Recipe, round: number, queues: QueueSet): Promise<AdvanceResult> {
  if (round >= roundCount(recipe)) {
    store.setState('completed');
    writeManifest(store);
    return { outputs: {}, metrics: { completed: true } };
  }
  const next = round + 1;
  const rows = seedsForRound(store, recipe, next);
  const shards = shardRows(rows, recipe.data.shard_size);
  const outputs: Record<string, OutputRecord> = {};
  shards.forEach((shardRowsK, k) => {
    outputs[`seeds_${k}`] = atomicWriteJsonl(store.abs(shardFile(next, 'seeds', k)), shardRowsK);
  });
  const plan = planRound(recipe, store.id, next, shards.length, store.doneIds());
  const added = await addPlan(queues, plan, { id: store.id, dir: store.dir }, recipe);
  writeManifest(store);
  return { outputs, metrics: { next_round: next, seeds: rows.length, shards: shards.length, jobs_added: added } };
}
