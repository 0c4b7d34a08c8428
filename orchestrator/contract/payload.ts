/**
 * The job payload Node sends to a Python stage (docs/ARCHITECTURE.md, "Bridge protocol"). Both
 * sides validate it: Node with this schema (`checkPayload`), Python with its JSON Schema
 * (`stagePayloadJsonSchema`, sent in `configure`).
 */
import { z } from 'zod';
import { StageModelsSchema } from '../plan/models.js';
import { AbsolutePathSchema } from '../plan/paths.js';
import { STAGES, type Stage } from '../plan/stages.js';
import { RecipeSchema } from '../recipe/schema.js';
import { ContractError } from './contract-error.js';

/** Stages that run in Python; `advance` runs in Node and never crosses the bridge. */
export const PythonStageSchema = z.enum(STAGES).exclude(['advance']);
export type PythonStage = z.output<typeof PythonStageSchema>;

export const StagePayloadSchema = z
  .object({
    run_id: z.string().min(1),
    run_dir: AbsolutePathSchema,
    job_id: z.string().min(1),
    round: z.number().int().min(0),
    stage: PythonStageSchema,
    shard: z.number().int().min(0),
    attempt: z.number().int().min(1).describe('1 on the first try; the worker resumes checkpoints on later ones.'),
    recipe: RecipeSchema.describe('The validated recipe (recipe.json): defaults filled, paths absolute.'),
    inputs: z.record(z.string(), z.union([AbsolutePathSchema, z.array(AbsolutePathSchema)])).describe('Input files by name; training gets lists (pairs of several rounds).'),
    outputs: z.record(z.string(), AbsolutePathSchema).describe('Files to write atomically, by name.'),
    models: StageModelsSchema,
    options: z
      .object({
        contrastive: z.boolean(),
        revision: z.boolean(),
        reference_guided: z.boolean(),
        batch_scale: z.number().gt(0).max(1).describe('Multiplies batch sizes; halves after each CUDA out-of-memory retry.'),
      })
      .strict(),
  })
  .strict();

export type StagePayload = z.output<typeof StagePayloadSchema>;

export function isPythonStage(stage: Stage): stage is PythonStage {
  return stage !== 'advance';
}

/** The payload as the schema outputs it, or a `ContractError` naming every bad field. */
export function checkPayload(payload: StagePayload): StagePayload {
  const parsed = StagePayloadSchema.safeParse(payload);
  if (!parsed.success) throw ContractError.fromZod(`payload of ${payload.job_id}`, parsed.error);
  return parsed.data;
}
