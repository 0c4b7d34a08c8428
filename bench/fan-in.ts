/**
 * Fan-in designs for a round (issue 24): the same jobs of one round with revision — 5 per shard in
 * order, then train, eval, report, advance — served by bare no-op BullMQ workers on the stage
 * queues, so only the queueing design differs. Baseline: as many independent jobs added with
 * addBulk and taken by one bare worker (the control benchmark's baseline).
 *
 * - flows: what `ipa` queued before issue 24 — one BullMQ flow a round, each shard a chain of
 *   parent/child jobs under train.
 * - chained: what it queues now (queue/chains.ts) — only the shards' first jobs; each finished job
 *   adds its shard's next one (deterministic ids make a repeated add a no-op), and the finished pair
 *   job that completes the set (a Redis set of finished shards) adds train.
 * - ideal: every job added at once on its stage queue with no ordering at all (an upper bound no
 *   design with ordering reaches).
 */
import { FlowProducer, Queue, Worker, type FlowJob, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { planRound, roundStages } from '../orchestrator/plan/planner.js';
import { STAGE_QUEUE, type QueueKind, type Stage } from '../orchestrator/plan/stages.js';
import { connect } from '../orchestrator/queue/connection.js';
import type { PlanNode } from '../orchestrator/plan/planner.js';
import { jobFor } from '../orchestrator/queue/chains.js';
import type { Recipe } from '../orchestrator/recipe/schema.js';
import { CONCURRENCY } from './control.js';
import { NoopRuns, jobsForShards } from './lib/noop-run.js';
import { benchPrefix, deleteKeys } from './lib/redis.js';
import { now, row } from './lib/stats.js';
import type { BenchContext, BenchResult, Benchmark } from './lib/types.js';

type Variant = 'flat' | 'flows' | 'chained' | 'ideal';

/** The plan as one BullMQ flow, children first (the design before issue 24). */
function asFlow(n: PlanNode, recipe: Recipe, isRoot = true): FlowJob {
  const j = jobFor(n, { id: 'fan', dir: '/nonexistent' }, recipe);
  return {
    name: j.name,
    queueName: j.queue,
    data: j.data,
    opts: { ...j.opts, ...(isRoot ? {} : { failParentOnFailure: true }) },
    children: n.children.map((c) => asFlow(c, recipe, false)),
  };
}
const QUEUES: QueueKind[] = ['sample', 'verify', 'revise', 'pair', 'train', 'eval', 'control'];

/** Redis's own CPU time so far, in µs (INFO cpu): the queue's cost lands there as much as in Node. */
async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/**
 * One variant once: the wall time from queueing to the last job done, and the CPU it took per job
 * (this process plus Redis), which a busy shared machine disturbs far less than wall time.
 */
async function once(
  redis: Redis,
  variant: Variant,
  shards: number,
  runs: NoopRuns,
): Promise<{ ms: number; cpuUs: number }> {
  const recipe = runs.recipe;
  const prefix = benchPrefix(`fan-${variant}`);
  const { perShard, perRound } = roundStages(recipe, 1);
  const chain = [...perShard].reverse(); // sample first
  const tail = [...perRound].reverse(); // train first
  const total = jobsForShards(shards);
  const queues = new Map(QUEUES.map((q) => [q, new Queue(q, { connection: redis, prefix })]));
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((res) => (finish = res));
  const add = (stage: Stage, shard: number) =>
    queues.get(STAGE_QUEUE[stage])!.add(stage, { stage, shard }, { jobId: `${stage}-${shard}` });
  const processor = async (job: Job) => {
    if (variant === 'chained') {
      const { stage, shard } = job.data as { stage: Stage; shard: number };
      const i = chain.indexOf(stage);
      if (i >= 0 && i < chain.length - 1) await add(chain[i + 1], shard);
      else if (i === chain.length - 1) {
        const n = await redis.multi().sadd(`${prefix}:pairs`, String(shard)).scard(`${prefix}:pairs`).exec();
        if (n?.[1]?.[1] === shards) await add(tail[0], 0);
      } else {
        const j = tail.indexOf(stage);
        if (j < tail.length - 1) await add(tail[j + 1], 0);
      }
    }
    if (++done === total) finish();
    return {};
  };
  const workers =
    variant === 'flat'
      ? [new Worker('sample', processor, { connection: redis.duplicate(), prefix, concurrency: CONCURRENCY })]
      : QUEUES.map(
          (q) =>
            new Worker(q, processor, {
              connection: redis.duplicate(),
              prefix,
              concurrency: q === 'control' ? 4 : CONCURRENCY,
            }),
        );
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const t = now();
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpuUs(redis);
  if (variant === 'flat') {
    await queues
      .get('sample')!
      .addBulk(Array.from({ length: total }, (_, i) => ({ name: 'x', data: { i }, opts: { jobId: `j${i}` } })));
  } else if (variant === 'ideal') {
    const jobs = [
      ...Array.from({ length: shards }, (_, s) => chain.map((stage) => ({ stage, shard: s }))).flat(),
      ...tail.map((stage) => ({ stage, shard: 0 })),
    ];
    await Promise.all(
      QUEUES.map((q) =>
        queues
          .get(q)!
          .addBulk(
            jobs
              .filter((j) => STAGE_QUEUE[j.stage] === q)
              .map((j) => ({ name: j.stage, data: j, opts: { jobId: `${j.stage}-${j.shard}` } })),
          ),
      ),
    );
  } else if (variant === 'flows') {
    const producer = new FlowProducer({ connection: redis, prefix });
    await producer.add(asFlow(planRound(recipe, 'fan', 1, shards)!, recipe));
    await producer.close();
  } else {
    await queues.get('sample')!.addBulk(
      Array.from({ length: shards }, (_, s) => ({
        name: chain[0],
        data: { stage: chain[0], shard: s },
        opts: { jobId: `${chain[0]}-${s}` },
      })),
    );
  }
  await finished;
  const ms = now() - t;
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = (cpu.user + cpu.system + (await redisCpuUs(redis)) - redis0) / total;
  await Promise.all(workers.map((w) => w.close()));
  await Promise.all([...queues.values()].map((q) => q.close()));
  await deleteKeys(redis, prefix);
  return { ms, cpuUs };
}

export const fanIn: Benchmark = {
  name: 'fanin',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const t0 = now();
    const shards = ctx.quick ? 40 : 200;
    const n = jobsForShards(shards);
    const redis = connect(ctx.redisUrl);
    const runs = new NoopRuns();
    const ms: Record<Variant, number[]> = { flat: [], flows: [], chained: [], ideal: [] };
    const cpu: Record<Variant, number[]> = { flat: [], flows: [], chained: [], ideal: [] };
    const order: Variant[] = ['flat', 'flows', 'chained', 'ideal'];
    try {
      for (const v of order) await once(redis, v, 10, runs); // warm-up: connections, scripts
      for (let r = 0; r < ctx.reps; r++) {
        for (let i = 0; i < order.length; i++) {
          const v = order[(i + r) % order.length];
          const one = await once(redis, v, shards, runs);
          ms[v].push(one.ms);
          cpu[v].push(one.cpuUs);
        }
        ctx.log(
          `fanin rep ${r + 1}: ${order.map((v) => `${v} ${(n / (ms[v].at(-1)! / 1000)).toFixed(0)} jobs/s`).join(', ')}`,
        );
      }
    } finally {
      await redis.quit();
      runs.cleanup();
    }
    const rate = (xs: number[]) => xs.map((x) => n / (x / 1000));
    return {
      name: 'fanin',
      title: `Fan-in designs: one round of ${shards} shards (${n} no-op jobs), bare workers, concurrency ${CONCURRENCY}`,
      ours: 'each design, served by bare no-op workers on the stage queues',
      baseline: `${n} independent jobs via addBulk → one bare BullMQ Worker`,
      rows: [
        row('flows (one flow a round, a chain a shard: what addPlan queues)', 'jobs/s', rate(ms.flows), rate(ms.flat)),
        row(
          'chained adds (each job adds its shard’s next; the last pair adds train)',
          'jobs/s',
          rate(ms.chained),
          rate(ms.flat),
        ),
        row(
          'no ordering at all, every job on its stage queue at once (upper bound)',
          'jobs/s',
          rate(ms.ideal),
          rate(ms.flat),
        ),
        row('CPU per job, Node + Redis: flows', 'µs', cpu.flows, cpu.flat),
        row('CPU per job, Node + Redis: chained adds', 'µs', cpu.chained, cpu.flat),
        row('CPU per job, Node + Redis: no ordering (upper bound)', 'µs', cpu.ideal, cpu.flat),
      ],
      notes: [
        'Timed from the first add until the last job is done, as counted by the processors. Variants rotate their order every repetition.',
      ],
      seconds: (now() - t0) / 1000,
    };
  },
};
