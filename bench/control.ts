/**
 * Control plane: no-op jobs through real Redis. Ours = a round queued as chains (its first jobs;
 * each finished job queues its successor, the last shard the round's stages: plan/chain.ts) →
 * WorkerAgent, the jobs taking the agent's done-record path (see lib/noop-run.ts for why that is
 * its honest no-op), every trust check on; baseline = the same number of independent jobs added
 * with addBulk and taken by a bare BullMQ Worker with a no-op processor, at the same
 * concurrency. Extra rows: the agent on flat jobs (no ordering), and the agent's per-job cost in a
 * round of 1,000 shards against one of 100. bench/fan-in.ts compares the queueing designs alone.
 */
import { Queue, Worker, type JobsOptions } from 'bullmq';
import { WorkerAgent } from '../orchestrator/agent/agent.js';
import { roundStages } from '../orchestrator/plan/planner.js';
import type { Recipe } from '../orchestrator/recipe/schema.js';
import { jobId, STAGE_QUEUE, type JobDescriptor, type QueueKind } from '../orchestrator/plan/stages.js';
import { connect } from '../orchestrator/queue/connection.js';
import { frontier } from '../orchestrator/plan/chain.js';
import { queueLinks } from '../orchestrator/queue/chains.js';
import { jobOptions, QueueSet } from '../orchestrator/queue/queues.js';
import { QUEUE_KINDS } from '../orchestrator/plan/stages.js';
import { NoopRuns, jobsForShards, quietLogger } from './lib/noop-run.js';
import { benchPrefix, deleteKeys } from './lib/redis.js';
import { atLeast, atMost, now, row, stats } from './lib/stats.js';
import type { BenchContext, BenchResult, Benchmark } from './lib/types.js';
import { waitCompleted, waitCount } from './lib/wait.js';

export const CONCURRENCY = 50;
const noop = async () => ({});

/** 500 per-shard jobs of a round with `shards` shards, spread evenly over its shards (5 per chosen shard). */
export function spreadJobs(
  recipe: Recipe,
  runId: string,
  shards: number,
  count = 500,
): Array<Pick<JobDescriptor, 'round' | 'stage' | 'shard'>> {
  const perShard = roundStages(recipe, 1).perShard;
  const chosen = count / perShard.length;
  const step = shards / chosen;
  return Array.from({ length: chosen }, (_, i) => Math.floor(i * step)).flatMap((shard) =>
    perShard.map((stage) => ({ round: 1, stage, shard })),
  );
}

/**
 * `n` independent jobs: each shard's last link (pair), whose successor is only the round's fan-in
 * count (one SADD + SCARD). The round gets one shard more than `n` that never finishes, so the
 * fan-in never fires and no job queues another: the agent's own per-job cost, chain end included.
 */
function flatJobs(runId: string, runDir: string, n: number, opts: JobsOptions) {
  return Array.from({ length: n }, (_, shard) => {
    const data: JobDescriptor = { runId, runDir, round: 1, stage: 'pair', shard };
    const id = jobId(data);
    return { name: id, data, opts: { ...opts, jobId: id } };
  });
}

export const control: Benchmark = {
  name: 'control',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const t0 = now();
    const shards = ctx.quick ? 40 : 200;
    const n = jobsForShards(shards);
    const redis = connect(ctx.redisUrl);
    const p = { ours: benchPrefix('ctl-ours'), bare: benchPrefix('ctl-bare') };
    const runs = new NoopRuns();
    const recipe = runs.recipe;
    const opts = jobOptions(recipe);
    const ours = new QueueSet(redis, p.ours);
    const bareQueue = new Queue('sample', { connection: redis, prefix: p.bare });
    const workers: Worker[] = [
      new Worker('sample', noop, { connection: redis.duplicate(), prefix: p.bare, concurrency: CONCURRENCY }),
    ];
    const agent = await WorkerAgent.start({
      redisUrl: ctx.redisUrl,
      prefix: p.ours,
      concurrency: CONCURRENCY,
      logger: quietLogger(),
      runRoots: [runs.recipe.runs_dir],
    });
    let flowRun = 0;

    const measure = {
      /** plan + queue the round's first jobs + agent (which queues the rest), until the round's advance completed */
      full: async (s: number): Promise<number> => {
        const { store } = await runs.doneRound(redis, p.ours, s);
        const t = now();
        await queueLinks(ours, frontier(recipe, store.id, 1, s, new Set()), { id: store.id, dir: store.dir }, recipe);
        await waitCompleted(ours.queue('control'), jobId({ runId: store.id, round: 1, stage: 'advance', shard: 0 }));
        return now() - t;
      },
      agentFlat: async (k: number): Promise<number> => {
        const store = await runs.create(redis, p.ours);
        runs.openRound(store, k + 1);
        runs.markDone(
          store,
          Array.from({ length: k }, (_, shard) => ({ round: 1, stage: 'pair' as const, shard })),
        );
        const q = ours.queue('pair');
        const before = await q.getCompletedCount();
        const t = now();
        await q.addBulk(flatJobs(store.id, store.dir, k, opts));
        await waitCount(q, before + k);
        return now() - t;
      },
      /** The agent on 500 jobs spread over a round of `s` shards: its per-job cost must not grow with the round. */
      agentAt: async (s: number): Promise<number> => {
        const store = await runs.create(redis, p.ours);
        runs.openRound(store, s + 1); // a shard that never finishes: the fan-in stays out of the measure
        const picked = spreadJobs(recipe, store.id, s);
        runs.markDone(store, picked);
        const byQueue = new Map<QueueKind, ReturnType<typeof flatJobs>>();
        for (const n of picked) {
          const data: JobDescriptor = { runId: store.id, runDir: store.dir, ...n };
          const list = byQueue.get(STAGE_QUEUE[n.stage]) ?? [];
          list.push({ name: jobId(data), data, opts: { ...opts, jobId: jobId(data) } });
          byQueue.set(STAGE_QUEUE[n.stage], list);
        }
        const before = await Promise.all([...byQueue.keys()].map((q) => ours.queue(q).getCompletedCount()));
        const t = now();
        await Promise.all([...byQueue].map(([q, jobs]) => ours.queue(q).addBulk(jobs)));
        await Promise.all([...byQueue].map(([q, jobs], i) => waitCount(ours.queue(q), before[i] + jobs.length)));
        return now() - t;
      },
      bareFlat: async (k: number): Promise<number> => {
        const before = await bareQueue.getCompletedCount();
        const t = now();
        await bareQueue.addBulk(flatJobs(`bare-${++flowRun}`, '/nonexistent', k, opts));
        await waitCount(bareQueue, before + k);
        return now() - t;
      },
    };
    const ms = {
      full: [] as number[],
      agentFlat: [] as number[],
      bareFlat: [] as number[],
      at100: [] as number[],
      at1000: [] as number[],
    };
    try {
      // Warm-up: connections, Lua script loading, JIT.
      await measure.full(10);
      await measure.agentFlat(jobsForShards(10));
      await measure.bareFlat(jobsForShards(10));
      const order = ['full', 'bareFlat', 'agentFlat'] as const;
      for (let r = 0; r < ctx.reps; r++) {
        // Rotate the order so slow phases of a shared machine do not always hit the same variant.
        for (let i = 0; i < order.length; i++) {
          const k = order[(i + r) % order.length];
          ms[k].push(await measure[k](k === 'full' ? shards : n));
        }
        ctx.log(
          `control rep ${r + 1}: ${order.map((k) => `${k} ${(n / (ms[k].at(-1)! / 1000)).toFixed(0)} jobs/s`).join(', ')}`,
        );
        // Per-job cost against the round's size, the two sizes back to back in alternating order.
        for (const size of r % 2 ? [1000, 100] : [100, 1000])
          ms[size === 100 ? 'at100' : 'at1000'].push(await measure.agentAt(size));
        ctx.log(
          `control rep ${r + 1}: agent on 500 jobs of a 100-shard round ${ms.at100.at(-1)!.toFixed(0)} ms, of a 1,000-shard round ${ms.at1000.at(-1)!.toFixed(0)} ms`,
        );
      }
    } finally {
      await agent.close(5000);
      await Promise.all(workers.map((w) => w.close()));
      await bareQueue.close();
      await ours.close();
      for (const prefix of Object.values(p)) await deleteKeys(redis, prefix);
      await redis.quit();
      runs.cleanup();
    }
    const rate = (xs: number[]) => xs.map((x) => n / (x / 1000));
    const perJob = (xs: number[]) => xs.map((x) => x / n);
    const perJobOf = (xs: number[], k: number) => xs.map((x) => x / k);
    const overheadUs = stats(ms.full.map((x, i) => ((x - ms.bareFlat[i]) / n) * 1000));
    return {
      name: 'control',
      title: `Control plane: ${n} no-op jobs through Redis, concurrency ${CONCURRENCY}`,
      ours: `a round of ${shards} shards queued as chains → WorkerAgent (done-record path, trust checks on)`,
      baseline: `${n} jobs via addBulk → bare BullMQ Worker, no-op processor`,
      rows: [
        row('throughput: planner + chains + agent', 'jobs/s', rate(ms.full), rate(ms.bareFlat), atLeast(0.8)),
        row('time per job: planner + chains + agent', 'ms', perJob(ms.full), perJob(ms.bareFlat)),
        row('split: agent alone on flat jobs', 'jobs/s', rate(ms.agentFlat), rate(ms.bareFlat)),
        row(
          'agent per-job cost, round of 1,000 shards vs 100 (500 jobs each, trust checks on)',
          'ms',
          perJobOf(ms.at1000, 500),
          perJobOf(ms.at100, 500),
          atMost(1.5),
        ),
      ],
      notes: [
        `Overhead per job (ours − bare, paired by repetition): median ${overheadUs.median.toFixed(0)} µs (min ${overheadUs.min.toFixed(0)}, max ${overheadUs.max.toFixed(0)}).`,
        'Timed from planning (ours) or addBulk (bare) until the last job is completed, polled every 5 ms with the same probe.',
        'Ours skips the Python call through the done-record path: the agent has no no-op stage; the bridge row measures that call.',
      ],
      seconds: (now() - t0) / 1000,
    };
  },
};
