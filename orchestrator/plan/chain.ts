/**
 * What runs next (issue 24): a round is queued as chains, not as one BullMQ flow. Each shard's
 * stages run in order (sample → verify → revise → verify_revisions → pair); the round's own stages
 * (train → eval → report → advance) follow once every shard's chain is finished. Only the jobs that
 * can run now are queued — the frontier — and a finished job queues its successor; the last shard
 * to finish its chain queues the round's first stage (the fan-in). Pure functions over the
 * planner's round structure (`roundStages`), so the order is written once.
 */
import { roundStages } from './planner.js';
import { jobId, type Stage } from './stages.js';
import type { Recipe } from '../recipe/schema.js';

export interface Link {
  stage: Stage;
  round: number;
  shard: number;
}

/** The round's stages in the order they run: each shard's chain, then the round's own stages. */
export function executionOrder(recipe: Recipe, round: number): { perShard: Stage[]; perRound: Stage[] } {
  const { perRound, perShard } = roundStages(recipe, round);
  return { perShard: [...perShard].reverse(), perRound: [...perRound].reverse() };
}

/**
 * The next link of `chain` to run: the one after the last finished link. A finished link stands
 * for everything before it (the planner's rule: a job's prerequisites finished before it), so a
 * chain whose last link is done is complete (undefined).
 */
function nextOf(chain: readonly Link[], isDone: (l: Link) => boolean): Link | undefined {
  for (let i = chain.length - 1; i >= 0; i--) if (isDone(chain[i])) return chain[i + 1];
  return chain[0];
}

/**
 * The jobs of round `round` (with `shards` seed shards) that can run now, given what is done:
 * each unfinished shard's next link, or — when every shard is finished — the round's next stage.
 * Empty when the round is complete.
 */
export function frontier(
  recipe: Recipe,
  runId: string,
  round: number,
  shards: number,
  done: ReadonlySet<string>,
): Link[] {
  const { perShard, perRound } = executionOrder(recipe, round);
  const isDone = (l: Link) => done.has(jobId({ runId, ...l }));
  const out: Link[] = [];
  if (perShard.length) {
    for (let s = 0; s < shards; s++) {
      const next = nextOf(
        perShard.map((stage) => ({ stage, round, shard: s })),
        isDone,
      );
      if (next) out.push(next);
    }
    if (out.length) return out;
  }
  const next = nextOf(
    perRound.map((stage) => ({ stage, round, shard: 0 })),
    isDone,
  );
  return next ? [next] : [];
}

export type Successor =
  /** The next job of the same chain. */
  | { kind: 'next'; link: Link }
  /** The shard's chain is finished: once every shard's is, the round's first stage runs. */
  | { kind: 'fan-in'; link: Link }
  /** Nothing follows in this round (advance: it opens the next round itself). */
  | { kind: 'none' };

/** What follows the finished job (stage, shard) of round `round`. */
export function successor(recipe: Recipe, round: number, stage: Stage, shard: number): Successor {
  const { perShard, perRound } = executionOrder(recipe, round);
  const i = perShard.indexOf(stage);
  if (i >= 0) {
    return i < perShard.length - 1
      ? { kind: 'next', link: { stage: perShard[i + 1], round, shard } }
      : { kind: 'fan-in', link: { stage: perRound[0], round, shard: 0 } };
  }
  const j = perRound.indexOf(stage);
  return j >= 0 && j < perRound.length - 1
    ? { kind: 'next', link: { stage: perRound[j + 1], round, shard: 0 } }
    : { kind: 'none' };
}

/** The last stage of each shard's chain in round `round` (undefined when the round has none). */
export function lastShardStage(recipe: Recipe, round: number): Stage | undefined {
  return executionOrder(recipe, round).perShard.at(-1);
}

/**
 * The jobs that must be done before (stage, shard) of round `round` may run: the shard's previous
 * stage; for the round's first stage every shard's last one; for later round stages the one before.
 * A first shard stage needs only its round opened (the agent's plan check).
 */
export function predecessors(recipe: Recipe, round: number, stage: Stage, shard: number, shards: number): Link[] {
  const { perShard, perRound } = executionOrder(recipe, round);
  const i = perShard.indexOf(stage);
  if (i > 0) return [{ stage: perShard[i - 1], round, shard }];
  if (i === 0) return [];
  const j = perRound.indexOf(stage);
  if (j > 0) return [{ stage: perRound[j - 1], round, shard: 0 }];
  const last = perShard.at(-1);
  return j === 0 && last ? Array.from({ length: shards }, (_, s) => ({ stage: last, round, shard: s })) : [];
}
