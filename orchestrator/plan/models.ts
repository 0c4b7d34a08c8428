/**
 * Which weights each stage uses (IPA roles): the generator and reviser of round r are the
 * adapters trained after round r-1 when the round self-evolves, else the initial model; the
 * verifier judges with the initial model unless the recipe says otherwise.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Recipe } from '../recipe/schema.js';
import { policyDir, reviserDir, SFT_MODEL_DIR } from './paths.js';
import { roundSettings, type ModelSpec } from './planner.js';
import type { Stage } from './stages.js';

export interface StageModels {
  generator: ModelSpec;
  reviser: ModelSpec;
  verifier: ModelSpec;
  /** DPO reference (train only). */
  reference?: ModelSpec;
}

/** Resolves run-relative paths; `exists` is injectable so the rules stay testable without files. */
export interface ModelContext {
  abs: (rel: string) => string;
  exists?: (path: string) => boolean;
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
export function latestTrained(kind: 'policy' | 'reviser', round: number, recipe: Recipe, ctx: ModelContext): ModelSpec | undefined {
  const exists = ctx.exists ?? existsSync;
  const initial = initialModel(recipe, ctx);
  for (let k = round - 1; k >= 1; k--) {
    const spec = trained(ctx.abs(kind === 'policy' ? policyDir(k) : reviserDir(k)), initial, exists);
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
    return { generator: startPolicy, reviser: startReviser, verifier: initial, reference };
  }
  const s = roundSettings(recipe, round);
  const evolve = s.selfEvolve && round > 1;
  const generator = evolve ? (latestTrained('policy', round, recipe, ctx) ?? initial) : initial;
  const reviser = evolve && recipe.training.train_reviser ? (latestTrained('reviser', round, recipe, ctx) ?? initial) : initial;
  const verifier = recipe.verifier.model === 'generator' ? generator : initial;
  return { generator, reviser, verifier };
}
