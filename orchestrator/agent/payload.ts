/**
 * Builds the payload a Python stage receives (docs/ARCHITECTURE.md, "StagePayload") from a job's
 * coordinates and the run directory: absolute paths in, absolute paths out, the roles' models.
 */
import { existsSync } from 'node:fs';
import { checkPayload, isPythonStage, type StagePayload } from '../contract/payload.js';
import { ContractError } from '../contract/contract-error.js';
import { stageModels } from '../plan/models.js';
import { shardInputs, stageOutputs } from '../plan/paths.js';
import { roundSettings } from '../plan/planner.js';
import { jobId, SHARDED_STAGES, type JobDescriptor } from '../plan/stages.js';
import type { Recipe } from '../recipe/schema.js';
import { writeReportInput } from '../report/report-input.js';
import type { RunStore } from '../store/run-store.js';

/**
 * What a round's training learns from, from done records: pair and feedback pair files (dpo),
 * accepted files (rft) and the round's seed shards (sft_reference), of rounds 1..r (cumulative)
 * or of round r only.
 */
export function trainingInputs(store: RunStore, recipe: Recipe, round: number): Record<string, string[]> {
  const from = recipe.training.pairs_from === 'cumulative' ? 1 : round;
  const out: Record<string, string[]> = { pairs: [], feedback_pairs: [], accepted: [], seeds: [] };
  for (const rec of store.doneRecords()) {
    if (rec.stage === 'pair' && rec.round >= from && rec.round <= round) {
      for (const name of ['pairs', 'feedback_pairs', 'accepted'] as const) if (rec.outputs[name]) out[name].push(rec.outputs[name].path);
    }
    // Round r's seed shards are written by advance(r - 1).
    if (rec.stage === 'advance' && rec.round + 1 >= from && rec.round + 1 <= round) {
      for (const [name, o] of Object.entries(rec.outputs)) if (name.startsWith('seeds_')) out.seeds.push(o.path);
    }
  }
  out.seeds.sort();
  return out;
}

/** The payload of a Python stage's job, checked against the contract before it is sent. */
export function buildPayload(store: RunStore, recipe: Recipe, d: JobDescriptor, attempt: number, batchScale: number): StagePayload {
  if (!isPythonStage(d.stage)) throw new ContractError(`stage ${d.stage} runs in Node and has no payload`);
  const settings = d.round >= 1 ? roundSettings(recipe, d.round) : undefined;
  const revision = settings?.revision ?? false;
  const rel = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, store.abs(v)]));
  let inputs: Record<string, string | string[]> = {};
  if (SHARDED_STAGES.has(d.stage) || d.stage === 'sft') inputs = rel(shardInputs(d.stage, d.round, d.shard, revision));
  else if (d.stage === 'train') inputs = trainingInputs(store, recipe, d.round);
  // The report draws from results computed here, once (orchestrator/report/report-input.ts).
  else if (d.stage === 'report') inputs = { results: writeReportInput(store, d.runId) };
  return checkPayload({
    run_id: d.runId,
    run_dir: store.dir,
    job_id: jobId(d),
    round: d.round,
    stage: d.stage,
    shard: d.shard,
    attempt,
    recipe,
    inputs,
    outputs: rel(stageOutputs(d.stage, d.round, d.shard)),
    models: stageModels(recipe, d.stage, d.round, { abs: (p) => store.abs(p), exists: existsSync }),
    options: {
      contrastive: settings?.contrastive ?? false,
      revision,
      reference_guided: settings?.referenceGuided ?? false,
      batch_scale: batchScale,
    },
  });
}
