/**
 * What each job reads, as absolute paths in the run directory: the one answer the payload (what a
 * Python stage is handed and must find intact), `advance` (where the next round's seeds come from)
 * and `ipa resume` (what was computed from a damaged output) share.
 */
import { existsSync } from 'node:fs';
import { stageModels, type StageModels } from '../plan/models.js';
import { SEEDS_FILE, shardInputs } from '../plan/paths.js';
import { roundCount, roundSettings } from '../plan/planner.js';
import { SHARDED_STAGES, type Stage } from '../plan/stages.js';
import type { Recipe } from '../recipe/schema.js';
import type { RunStore } from './run-store.js';

/**
 * What a round's training learns from, from done records: pair and feedback pair files (dpo),
 * accepted files (rft) and the round's seed shards (sft_reference, sft_oracle), of rounds 1..r (cumulative)
 * or of round r only.
 */
export function trainingInputs(store: RunStore, recipe: Recipe, round: number): Record<string, string[]> {
  const from = recipe.training.pairs_from === 'cumulative' ? 1 : round;
  const out: Record<string, string[]> = { pairs: [], feedback_pairs: [], accepted: [], seeds: [] };
  for (const rec of store.doneRecords()) {
    if (rec.stage === 'pair' && rec.round >= from && rec.round <= round) {
      for (const name of ['pairs', 'feedback_pairs', 'accepted'] as const)
        if (rec.outputs[name]) out[name].push(rec.outputs[name].path);
    }
    // Round r's seed shards are written by advance(r - 1).
    if (rec.stage === 'advance' && rec.round + 1 >= from && rec.round + 1 <= round) {
      for (const [name, o] of Object.entries(rec.outputs)) if (name.startsWith('seeds_')) out.seeds.push(o.path);
    }
  }
  out.seeds.sort();
  return out;
}

/** The files round `next`'s seeds are read from: all seeds, or round next-1's challenging shards in shard order. */
export function seedSources(store: RunStore, recipe: Recipe, next: number): string[] {
  if (next === 1 || roundSettings(recipe, next).seeds === 'all') return [store.abs(SEEDS_FILE)];
  return store
    .doneRecords()
    .filter((r) => r.stage === 'pair' && r.round === next - 1 && r.outputs.challenging)
    .sort((a, b) => a.shard - b.shard)
    .map((r) => r.outputs.challenging.path)
    .filter((p) => existsSync(p));
}

/** The named inputs of a Python stage's job (the report's is written by the agent, not here). */
export function stageInputs(
  store: RunStore,
  recipe: Recipe,
  stage: Stage,
  round: number,
  shard: number,
): Record<string, string | string[]> {
  if (SHARDED_STAGES.has(stage) || stage === 'sft') {
    const revision = round >= 1 ? roundSettings(recipe, round).revision : false;
    return Object.fromEntries(
      Object.entries(shardInputs(stage, round, shard, revision)).map(([k, v]) => [k, store.abs(v)]),
    );
  }
  if (stage === 'train') return trainingInputs(store, recipe, round);
  return {};
}

/** The models a stage loads, resolved in the run directory. */
export function jobModels(store: RunStore, recipe: Recipe, stage: Stage, round: number): StageModels {
  return stageModels(recipe, stage, round, { abs: (p) => store.abs(p), exists: existsSync });
}

/** The folders of the models a stage loads. */
export function modelPaths(models: StageModels): string[] {
  return Object.values(models).flatMap((m) => (m ? [m.base, ...(m.adapter ? [m.adapter] : [])] : []));
}

/** Every path job (stage, round, shard) reads: its inputs, its models, and for `advance` the next round's seed sources. */
export function jobInputPaths(store: RunStore, recipe: Recipe, stage: Stage, round: number, shard: number): string[] {
  if (stage === 'advance') return round < roundCount(recipe) ? seedSources(store, recipe, round + 1) : [];
  if (stage === 'report') return [];
  return [
    ...Object.values(stageInputs(store, recipe, stage, round, shard)).flat(),
    ...modelPaths(jobModels(store, recipe, stage, round)),
  ];
}

/** The pair files of every finished `pair` job, in round then shard order: what `ipa export` writes out. */
export function recordedPairFiles(store: RunStore, kind: 'pairs' | 'feedback_pairs'): string[] {
  return store
    .doneRecords()
    .filter((r) => r.stage === 'pair' && r.outputs[kind])
    .sort((a, b) => a.round - b.round || a.shard - b.shard)
    .map((r) => r.outputs[kind].path);
}
