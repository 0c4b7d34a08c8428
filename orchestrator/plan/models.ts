/**
 * Which weights each stage uses (IPA roles): the generator and reviser of round r are the
 * adapters trained after round r-1 when the round self-evolves, else the initial model; the
 * verifier judges with the initial model unless the recipe says otherwise.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { Recipe } from '../recipe/schema.js';
import { AbsolutePathSchema, policyDir, reviserDir, SFT_MODEL_DIR } from './paths.js';
import { roundSettings } from './planner.js';
import type { Stage } from './stages.js';

/** Weights a role uses: a base checkpoint, optionally with a LoRA adapter on top. */
export const ModelSpecSchema = z
  .object({
    base: AbsolutePathSchema.describe('Checkpoint directory (`from_pretrained` format).'),
    adapter: AbsolutePathSchema.nullable().describe('PEFT adapter directory, or null for the bare base.'),
  })
  .strict();
export type ModelSpec = z.output<typeof ModelSpecSchema>;

/** The weights of every role a stage needs. */
export const StageModelsSchema = z
  .object({
    generator: ModelSpecSchema,
    reviser: ModelSpecSchema,
    verifier: ModelSpecSchema,
    reference: ModelSpecSchema.optional().describe('DPO reference model (train only).'),
  })
  .strict();
export type StageModels = z.output<typeof StageModelsSchema>;

/**
 * Resolves run-relative paths and says which files exist. The planner does no I/O of its own:
 * the caller passes `exists` (the agent: the file system; tests: a list).
 */
export interface ModelContext {
  abs: (rel: string) => string;
  exists: (path: string) => boolean;
}

export function initialModel(recipe: Recipe, ctx: ModelContext): ModelSpec {
  return { base: recipe.warmup.sft.enabled ? ctx.abs(SFT_MODEL_DIR) : recipe.model.base, adapter: null };
}

/** A trained model dir as a spec: a LoRA adapter on the initial model, or full weights. */
function trained(dir: string, initial: ModelSpec, exists: (p: string) => boolean): ModelSpec | undefined {
  if (exists(join(dir, 'adapter_config.json'))) return { base: initial.base, adapter: dir };
  if (exists(join(dir, 'config.json'))) return { base: dir, adapter: null };
  return undefined;
}

/** The newest model of `kind` trained in rounds < `round` (a round with no pairs trains nothing). */
export function latestTrained(
  kind: 'policy' | 'reviser',
  round: number,
  recipe: Recipe,
  ctx: ModelContext,
): ModelSpec | undefined {
  const initial = initialModel(recipe, ctx);
  for (let k = round - 1; k >= 1; k--) {
    const spec = trained(ctx.abs(kind === 'policy' ? policyDir(k) : reviserDir(k)), initial, ctx.exists);
    if (spec) return spec;
  }
  return undefined;
}

export function stageModels(recipe: Recipe, stage: Stage, round: number, ctx: ModelContext): StageModels {
  const initial = initialModel(recipe, ctx);
  if (stage === 'sft' || stage === 'prepare') {
    const base = { base: recipe.model.base, adapter: null };
    return { generator: base, reviser: base, verifier: base };
  }
  if (stage === 'eval' || stage === 'report') {
    const policy = round === 0 ? initial : (latestTrained('policy', round + 1, recipe, ctx) ?? initial);
    return { generator: policy, reviser: initial, verifier: initial };
  }
  if (stage === 'train') {
    const previous = recipe.training.adapters_from === 'previous';
    const startPolicy = previous ? (latestTrained('policy', round, recipe, ctx) ?? initial) : initial;
    const startReviser = previous ? (latestTrained('reviser', round, recipe, ctx) ?? initial) : initial;
    const reference = recipe.training.reference_model === 'initial' ? initial : startPolicy;
    // The verifier that judged this round's responses: what the verifier gate audits before training.
    return {
      generator: startPolicy,
      reviser: startReviser,
      verifier: roundRoles(recipe, round, ctx).verifier,
      reference,
    };
  }
  return roundRoles(recipe, round, ctx);
}

/** The generator, reviser and verifier of round `round`'s sample, verify and revise stages. */
function roundRoles(recipe: Recipe, round: number, ctx: ModelContext): StageModels {
  const initial = initialModel(recipe, ctx);
  const s = roundSettings(recipe, round);
  const evolve = s.selfEvolve && round > 1;
  const generator = evolve ? (latestTrained('policy', round, recipe, ctx) ?? initial) : initial;
  const reviser =
    evolve && recipe.training.train_reviser ? (latestTrained('reviser', round, recipe, ctx) ?? initial) : initial;
  const verifier = recipe.verifier.model === 'generator' ? generator : initial;
  return { generator, reviser, verifier };
}
