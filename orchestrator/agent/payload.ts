/**
 * Builds the payload a Python stage receives (docs/ARCHITECTURE.md, "StagePayload") from a job's
 * coordinates and the run directory: absolute paths in, absolute paths out, the roles' models.
 * Outputs must resolve inside the run directory and every input must match the done record that
 * produced it (store/integrity.ts): one check here covers every stage.
 */
import { checkPayload, isPythonStage, type StagePayload } from '../contract/payload.js';
import { ContractError } from '../contract/contract-error.js';
import { stageOutputs } from '../plan/paths.js';
import { roundSettings } from '../plan/planner.js';
import { jobId, type JobDescriptor } from '../plan/stages.js';
import type { Recipe } from '../recipe/schema.js';
import { writeReportInput } from '../report/report-input.js';
import { IntegrityError, verifyInputs, verifyModelInputs } from '../store/integrity.js';
import { jobModels, modelPaths, stageInputs } from '../store/job-inputs.js';
import type { RunStore } from '../store/run-store.js';
import { staysInside } from '../real-path.js';

/** A job writes only inside its run directory: a link planted in it cannot send an output elsewhere. */
function holdInside(store: RunStore, paths: readonly string[]): void {
  for (const p of paths) {
    if (!staysInside(p, store.dir))
      throw new IntegrityError({
        kind: 'outside-run',
        file: p,
        reason: `resolves outside the run directory ${store.dir} (a symbolic link on the way?); nothing was written`,
      });
  }
}

/** The payload of a Python stage's job, checked against the contract before it is sent. */
export function buildPayload(
  store: RunStore,
  recipe: Recipe,
  d: JobDescriptor,
  attempt: number,
  batchScale: number,
): StagePayload {
  if (!isPythonStage(d.stage)) throw new ContractError(`stage ${d.stage} runs in Node and has no payload`);
  const settings = d.round >= 1 ? roundSettings(recipe, d.round) : undefined;
  // The report draws from results computed here, once (orchestrator/report/report-input.ts).
  const inputs =
    d.stage === 'report'
      ? { results: writeReportInput(store, d.runId) }
      : stageInputs(store, recipe, d.stage, d.round, d.shard);
  const outputs = Object.fromEntries(
    Object.entries(stageOutputs(d.stage, d.round, d.shard)).map(([k, v]) => [k, store.abs(v)]),
  );
  const models = jobModels(store, recipe, d.stage, d.round);
  holdInside(store, Object.values(outputs));
  // Every input, model folders included, must still be what its done record says it is, and lie
  // inside the run (only the recipe's own models live elsewhere). The report's input was written
  // just above, from the records themselves.
  if (d.stage !== 'report') {
    verifyInputs(store, Object.values(inputs).flat());
    verifyModelInputs(store, modelPaths(models));
  }
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
    outputs,
    models,
    options: {
      contrastive: settings?.contrastive ?? false,
      revision: settings?.revision ?? false,
      reference_guided: settings?.referenceGuided ?? false,
      batch_scale: batchScale,
    },
  });
}
