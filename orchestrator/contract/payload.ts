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

/**
 * A training job that spans nodes (`ipa worker --nodes N`): the agent that took the job leads and
 * serves the rendezvous; the agents that join it get the same group but `host: false`.
 */
export const TrainGroupSchema = z
  .object({
    nnodes: z.number().int().min(2).describe('Nodes in the group, this one included.'),
    endpoint: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/)
      .describe('host:port of the c10d rendezvous store, on the leading node.'),
    id: z.string().min(1).describe('The rendezvous id: one per try of the job, the same on every node.'),
    host: z.boolean().describe('This node serves the rendezvous store (the leading node).'),
    node_addr: z.string().min(1).optional().describe("This node's address as the others reach it."),
  })
  .strict();

export type TrainGroup = z.output<typeof TrainGroupSchema>;

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
    inputs: z
      .record(z.string(), z.union([AbsolutePathSchema, z.array(AbsolutePathSchema)]))
      .describe('Input files by name; training gets lists (pairs of several rounds).'),
    outputs: z.record(z.string(), AbsolutePathSchema).describe('Files to write atomically, by name.'),
    models: StageModelsSchema,
    options: z
      .object({
        contrastive: z.boolean(),
        revision: z.boolean(),
        reference_guided: z.boolean(),
        batch_scale: z
          .number()
          .gt(0)
          .max(1)
          .describe('Multiplies batch sizes; halves after each CUDA out-of-memory retry.'),
      })
      .strict(),
    group: TrainGroupSchema.optional().describe(
      'Set on a train or sft job that runs across nodes; absent: this node alone.',
    ),
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
