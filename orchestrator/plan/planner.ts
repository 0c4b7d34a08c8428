/**
 * The run planner: pure functions from (recipe, round, shard count, finished jobs) to the tree of
 * jobs a round still needs. `ipa submit` calls it with nothing finished; `ipa resume` and the
 * `advance` control job call it with the done records found in the run directory, so a finished
 * job — and everything under it — is never planned again.
 */
import type { Recipe } from '../recipe/schema.js';
import { jobId, type Stage } from './stages.js';

/** A job and the jobs that must finish before it (BullMQ flow semantics: children first). */
export interface PlanNode {
  stage: Stage;
  round: number;
  shard: number;
  children: PlanNode[];
}

/** What round r does, with the recipe's round defaults resolved. */
export interface RoundSettings {
  round: number;
  name: string;
  seeds: 'all' | 'challenging';
  contrastive: boolean;
  revision: boolean;
  referenceGuided: boolean;
  selfEvolve: boolean;
}

export function roundCount(recipe: Recipe): number {
  return recipe.rounds.length;
}

/** Settings of round r (1-based). */
export function roundSettings(recipe: Recipe, round: number): RoundSettings {
  const r = recipe.rounds[round - 1];
  if (!r) throw new RangeError(`round ${round} is not in the recipe (it has ${recipe.rounds.length})`);
  return {
    round,
    name: r.name ?? `round-${round}`,
    seeds: r.seeds ?? (round === 1 ? 'all' : 'challenging'),
    contrastive: r.contrastive,
    revision: r.revision,
    referenceGuided: r.reference_guided,
    selfEvolve: r.self_evolve ?? round > 1,
  };
}

/** Whether the policy is evaluated after round r (r = 0: the initial model). */
export function evaluatesAfter(recipe: Recipe, round: number): boolean {
  switch (recipe.eval.after) {
    case 'every_round':
      return true;
    case 'final':
      return round === 0 || round === roundCount(recipe);
    case 'none':
      return false;
  }
}

type Done = ReadonlySet<string>;

function node(stage: Stage, round: number, shard: number, children: PlanNode[] = []): PlanNode {
  return { stage, round, shard, children };
}

/**
 * Builds a chain from the top (first) to the bottom (last) stage, cutting it at the first job
 * already done: a finished job's prerequisites finished before it.
 */
function chain(runId: string, links: Link[], leaves: PlanNode[], done: Done): PlanNode | undefined {
  let top: PlanNode | undefined;
  let cursor: PlanNode | undefined;
  for (const l of links) {
    if (done.has(jobId({ runId, ...l }))) {
      return top;
    }
    const n = node(l.stage, l.round, l.shard);
    if (cursor) cursor.children.push(n);
    else top = n;
    cursor = n;
  }
  if (cursor) cursor.children.push(...leaves);
  return top;
}

/** Per-shard stages of round r, in execution order. */
export function shardStages(settings: RoundSettings): Stage[] {
  return settings.revision ? ['sample', 'verify', 'revise', 'verify_revisions', 'pair'] : ['sample', 'verify', 'pair'];
}

type Link = { stage: Stage; round: number; shard: number };

/**
 * The stages round `round` holds (0: preparation), top (last to run) first: those with one job a
 * round, and those with one job per seed shard. The planner builds its chains from them, and the
 * agent checks a job's membership against them without planning the round (`inRound`).
 */
export function roundStages(recipe: Recipe, round: number): { perRound: Stage[]; perShard: Stage[] } {
  if (round === 0) {
    const perRound: Stage[] = ['advance'];
    if (evaluatesAfter(recipe, 0)) perRound.push('eval');
    if (recipe.warmup.sft.enabled) perRound.push('sft');
    perRound.push('prepare');
    return { perRound, perShard: [] };
  }
  const settings = roundSettings(recipe, round);
  const perRound: Stage[] = ['advance'];
  if (round === roundCount(recipe)) perRound.push('report');
  if (evaluatesAfter(recipe, round)) perRound.push('eval');
  perRound.push('train');
  // The sft_reference and sft_oracle baselines learn from the seeds (references, checker-made
  // answers): nothing to sample or judge.
  const perShard = learnsFromSeedsOnly(recipe) ? [] : [...shardStages(settings)].reverse();
  return { perRound, perShard };
}

/**
 * Whether round `round` with `shards` seed shards holds the job (stage, shard): O(1) given the
 * round's stages, where `flattenPlan(planRound(...))` is O(shards).
 */
export function inRound(
  stages: { perRound: readonly Stage[]; perShard: readonly Stage[] },
  shards: number,
  stage: Stage,
  shard: number,
): boolean {
  if (stages.perRound.includes(stage)) return shard === 0;
  return stages.perShard.includes(stage) && shard < shards;
}

/** Round 0: prepare the seeds, warm up, evaluate the initial model. */
export function planPreparation(recipe: Recipe, runId: string, done: Done = new Set()): PlanNode | undefined {
  const links: Link[] = roundStages(recipe, 0).perRound.map((stage) => ({ stage, round: 0, shard: 0 }));
  return chain(runId, links, [], done);
}

/** Round r ≥ 1 with `shards` seed shards. */
export function planRound(
  recipe: Recipe,
  runId: string,
  round: number,
  shards: number,
  done: Done = new Set(),
): PlanNode | undefined {
  const { perRound, perShard } = roundStages(recipe, round);
  const links: Link[] = perRound.map((stage) => ({ stage, round, shard: 0 }));
  const shardChains: PlanNode[] = [];
  for (let s = 0; s < shards; s++) {
    const c = chain(
      runId,
      perShard.map((stage) => ({ stage, round, shard: s })),
      [],
      done,
    );
    if (c) shardChains.push(c);
  }
  return chain(runId, links, shardChains, done);
}

/** Objectives whose training reads the round's seed rows only (no samples, verdicts or pairs). */
export function learnsFromSeedsOnly(recipe: Recipe): boolean {
  return recipe.training.objective === 'sft_reference' || recipe.training.objective === 'sft_oracle';
}

/** Splits rows into shards of at most `size`, keeping order (shard k holds rows k*size ...). */
export function shardRows<T>(rows: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`shard size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/** Every job of a plan tree, parents before children. */
export function flattenPlan(n: PlanNode | undefined): PlanNode[] {
  if (!n) return [];
  return [n, ...n.children.flatMap(flattenPlan)];
}
