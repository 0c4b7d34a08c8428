/**
 * The job payload Node sends to a Python stage and the result it gets back
 * (docs/ARCHITECTURE.md, "Bridge protocol"). Both sides validate the payload: Node with this
 * schema, Python with its JSON Schema (`stagePayloadJsonSchema`, sent in `configure`).
 */
import { z } from 'zod';
import { STAGES } from '../plan/stages.js';
import { RecipeSchema } from './schema.js';

/** Every path crossing the bridge is absolute: the worker may run in another folder. */
const absPath = z.string().regex(/^\//, 'an absolute path');

/** Weights a role uses: a base checkpoint, optionally with a LoRA adapter on top. */
export const ModelSpecSchema = z
  .object({
    base: absPath.describe('Checkpoint directory (`from_pretrained` format).'),
    adapter: absPath.nullable().describe('PEFT adapter directory, or null for the bare base.'),
  })
  .strict();

/** Stages that run in Python; `advance` runs in Node and never crosses the bridge. */
export const PythonStageSchema = z.enum(STAGES).exclude(['advance']);

export const StagePayloadSchema = z
  .object({
    run_id: z.string().min(1),
    run_dir: absPath,
    job_id: z.string().min(1),
    round: z.number().int().min(0),
    stage: PythonStageSchema,
    shard: z.number().int().min(0),
    attempt: z.number().int().min(1).describe('1 on the first try; the worker resumes checkpoints on later ones.'),
    recipe: RecipeSchema.describe('The validated recipe (recipe.json): defaults filled, paths absolute.'),
    inputs: z.record(z.string(), z.union([absPath, z.array(absPath)])).describe('Input files by name; training gets lists (pairs of several rounds).'),
    outputs: z.record(z.string(), absPath).describe('Files to write atomically, by name.'),
    models: z
      .object({
        generator: ModelSpecSchema,
        reviser: ModelSpecSchema,
        verifier: ModelSpecSchema,
        reference: ModelSpecSchema.optional().describe('DPO reference model (train only).'),
      })
      .strict(),
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

export const StageOutputSchema = z.object({
  path: absPath,
  rows: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256'),
});

export const StageResultSchema = z.object({
  outputs: z.record(z.string(), StageOutputSchema),
  metrics: z.record(z.string(), z.unknown()).default({}),
  failed_items: z.array(z.object({ id: z.string(), reason: z.string() })).default([]).describe('Items skipped without failing the job.'),
});

export type StagePayload = z.output<typeof StagePayloadSchema>;
export type StageResult = z.output<typeof StageResultSchema>;
export type StageOutput = z.output<typeof StageOutputSchema>;
