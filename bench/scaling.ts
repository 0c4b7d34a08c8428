/**
 * Scaling of the control plane. Seeds: shardRows + planRound (pure), and the same plus queueing
 * the round's first jobs into Redis. Shards: the round queued as chains + every job taken by the
 * WorkerAgent, which queues the rest (done-record path, as in control.ts). Each size's baseline is the smallest size; the ratio is the cost per
 * seed (or per job) relative to it, so 1 means linear.
 */
import { WorkerAgent } from '../orchestrator/agent/agent.js';
import { flattenPlan, planRound, shardRows } from '../orchestrator/plan/planner.js';
import { jobId } from '../orchestrator/plan/stages.js';
import { connect } from '../orchestrator/queue/connection.js';
import { frontier } from '../orchestrator/plan/chain.js';
import { queueLinks } from '../orchestrator/queue/chains.js';
import { QueueSet } from '../orchestrator/queue/queues.js';
import { CONCURRENCY } from './control.js';
import { NoopRuns, jobsForShards, quietLogger } from './lib/noop-run.js';
import { benchPrefix, deleteKeys } from './lib/redis.js';
import { now, row, stats } from './lib/stats.js';
import type { BenchContext, BenchResult, Benchmark, Row, Stats } from './lib/types.js';
import { waitCompleted } from './lib/wait.js';

const SHARD_SIZE = 16;

function scaled(
  metric: string,
  sizes: number[],
  ms: number[][],
  units: (size: number) => number,
  unitName: string,
): Row[] {
  const base = stats(ms[0]);
  return sizes.map((size, i) => {
    const s: Stats = stats(ms[i]);
    const ratio = s.median / units(size) / (base.median / units(sizes[0]));
    return row(`${metric}: ${size.toLocaleString('en')}`, 'ms', s, base, undefined, {
      value: ratio,
      note: `cost per ${unitName} vs ${sizes[0].toLocaleString('en')}`,
    });
  });
}

export const scaling: Benchmark = {
  name: 'scaling',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const t0 = now();
    const seedSizes = ctx.quick ? [100, 1000, 10_000] : [100, 1000, 10_000, 100_000];
    const shardSizes = ctx.quick ? [10, 100] : [10, 100, 1000];
    const runs = new NoopRuns(SHARD_SIZE);
    const recipe = runs.recipe;
    const redis = connect(ctx.redisUrl);
    const prefix = benchPrefix('scale');
    const queues = new QueueSet(redis, prefix);
    const seedPrefix = benchPrefix('scale-seeds');
    const seedQueues = new QueueSet(redis, seedPrefix);
    const agent = await WorkerAgent.start({
      redisUrl: ctx.redisUrl,
      prefix,
      concurrency: CONCURRENCY,
      logger: quietLogger(),
      runRoots: [runs.recipe.runs_dir],
    });
    const pure: number[][] = seedSizes.map(() => []);
    const viaRedis: number[][] = seedSizes.map(() => []);
    const processed: number[][] = shardSizes.map(() => []);
    let planned = 0;
    try {
      const seeds = (n: number) =>
        Array.from({ length: n }, (_, i) => ({
          id: `s${i}`,
          images: [`/data/${i}.png`],
          instruction: 'What is shown?',
          reference: 'x',
          task_type: 'vqa',
          source: 'bench',
        }));
      for (let r = 0; r < ctx.reps; r++) {
        for (const [i, n] of seedSizes.entries()) {
          const rows = seeds(n);
          let t = now();
          const shards = shardRows(rows, SHARD_SIZE);
          planRound(recipe, `pure-${r}`, 1, shards.length);
          pure[i].push(now() - t);
          const runId = `redis-${++planned}`;
          t = now();
          await queueLinks(
            seedQueues,
            frontier(recipe, runId, 1, shardRows(rows, SHARD_SIZE).length, new Set()),
            { id: runId, dir: '/nonexistent' },
            recipe,
          );
          viaRedis[i].push(now() - t);
          // No worker serves this prefix: the jobs are only added, then removed so Redis stays small.
          await deleteKeys(redis, seedPrefix);
        }
        for (const [i, s] of shardSizes.entries()) {
          const { store } = await runs.doneRound(redis, prefix, s);
          const t = now();
          await queueLinks(
            queues,
            frontier(recipe, store.id, 1, s, new Set()),
            { id: store.id, dir: store.dir },
            recipe,
          );
          await waitCompleted(
            queues.queue('control'),
            jobId({ runId: store.id, round: 1, stage: 'advance', shard: 0 }),
          );
          processed[i].push(now() - t);
          if (flattenPlan(planRound(recipe, store.id, 1, s)).length !== jobsForShards(s))
            throw new Error('unexpected plan size');
        }
        ctx.log(
          `scaling rep ${r + 1}: pure ${pure.map((x) => x.at(-1)!.toFixed(1)).join('/')} ms; redis ${viaRedis.map((x) => x.at(-1)!.toFixed(0)).join('/')} ms; processed ${processed.map((x) => x.at(-1)!.toFixed(0)).join('/')} ms`,
        );
      }
    } finally {
      await agent.close(5000);
      await queues.close();
      await seedQueues.close();
      await deleteKeys(redis, prefix);
      await deleteKeys(redis, seedPrefix);
      await redis.quit();
      runs.cleanup();
    }
    return {
      name: 'scaling',
      title: 'Scaling: control-plane cost against seeds and shards',
      ours: 'the cost at each size',
      baseline: 'the cost at the smallest size (ratio: cost per unit relative to it)',
      rows: [
        ...scaled('shard + plan, pure; seeds', seedSizes, pure, (n) => n, 'seed'),
        ...scaled('shard + plan + queue the first jobs; seeds', seedSizes, viaRedis, (n) => n, 'seed'),
        ...scaled('queue as chains + agent processes no-op; shards', shardSizes, processed, jobsForShards, 'job'),
      ],
      notes: [
        `Shards of ${SHARD_SIZE} seeds; one round with revision: 5 jobs per shard + 4. Agent concurrency ${CONCURRENCY}.`,
      ],
      seconds: (now() - t0) / 1000,
    };
  },
};
