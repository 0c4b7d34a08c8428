/**
 * Queues a round from the run directory (plan/chain.ts, queue/chains.ts): what can run now given
 * the done records, and which shards have finished their chains (for the fan-in). `ipa submit`,
 * the advance job and `ipa resume` all start a round this way; agents queue the rest one
 * successor at a time.
 */
import { frontier, lastShardStage } from '../plan/chain.js';
import { jobId } from '../plan/stages.js';
import { queueLinks, recordFinishedShards } from '../queue/chains.js';
import type { QueueSet } from '../queue/queues.js';
import type { Recipe } from '../recipe/schema.js';
import { shardCount } from '../store/manifest.js';
import type { RunStore } from '../store/run-store.js';

/** Queues round `round`'s frontier; returns the number of jobs it holds (0: the round is finished). */
export async function queueFrontier(
  store: RunStore,
  recipe: Recipe,
  round: number,
  queues: QueueSet,
  done: ReadonlySet<string> = store.doneIds(),
): Promise<number> {
  const shards = round === 0 ? 0 : shardCount(store, round);
  const last = lastShardStage(recipe, round);
  if (round >= 1 && last) {
    const finished = Array.from({ length: shards }, (_, s) => s).filter((s) =>
      done.has(jobId({ runId: store.id, round, stage: last, shard: s })),
    );
    await recordFinishedShards(queues, store.id, round, finished);
  }
  return queueLinks(queues, frontier(recipe, store.id, round, shards, done), { id: store.id, dir: store.dir }, recipe);
}
