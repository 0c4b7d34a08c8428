/**
 * Control plane: no-op jobs through real Redis. Ours = planRound → addPlan (BullMQ flows) →
 * WorkerAgent, the jobs taking the agent's done-record path (see lib/noop-run.ts for why that is
 * its honest no-op); baseline = the same number of independent jobs added with addBulk and
 * taken by a bare BullMQ Worker with a no-op processor, at the same concurrency. Two extra rows
 * split the gap: the agent on flat jobs, and flows served by bare workers.
 */
import { Queue, Worker, type JobsOptions } from 'bullmq';
import { WorkerAgent } from '../orchestrator/agent/agent.js';
import { planRound, roundStages } from '../orchestrator/plan/planner.js';
import type { Recipe } from '../orchestrator/recipe/schema.js';
import { jobId, STAGE_QUEUE, type JobDescriptor, type QueueKind } from '../orchestrator/plan/stages.js';
import { connect } from '../orchestrator/queue/connection.js';
import { addPlan } from '../orchestrator/queue/flows.js';
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
export function spreadJobs(recipe: Recipe, runId: string, shards: number, count = 500): Array<Pick<JobDescriptor, 'round' | 'stage' | 'shard'>> {
  const perShard = roundStages(recipe, 1).perShard;
  const chosen = count / perShard.length;
  const step = shards / chosen;
  return Array.from({ length: chosen }, (_, i) => Math.floor(i * step)).flatMap((shard) => perShard.map((stage) => ({ round: 1, stage, shard })));
}

function flatJobs(runId: string, runDir: string, n: number, opts: JobsOptions) {
  return Array.from({ length: n }, (_, shard) => {
    const data: JobDescriptor = { runId, runDir, round: 1, stage: 'sample', shard };
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
    const p = { ours: benchPrefix('ctl-ours'), bare: benchPrefix('ctl-bare'), flows: benchPrefix('ctl-flows') };
    const runs = new NoopRuns();
    const recipe = runs.recipe;
    const opts = jobOptions(recipe);
    const ours = new QueueSet(redis, p.ours);
    const flows = new QueueSet(redis, p.flows);
    const bareQueue = new Queue('sample', { connection: redis, prefix: p.bare });
    const workers: Worker[] = [new Worker('sample', noop, { connection: redis.duplicate(), prefix: p.bare, concurrency: CONCURRENCY })];
    // Bare workers for the flows row, with the agent's per-queue concurrency.
    for (const q of QUEUE_KINDS) workers.push(new Worker(q, noop, { connection: redis.duplicate(), prefix: p.flows, concurrency: q === 'control' ? 4 : CONCURRENCY }));
    const agent = await WorkerAgent.start({ redisUrl: ctx.redisUrl, prefix: p.ours, concurrency: CONCURRENCY, logger: quietLogger(), runRoots: [runs.recipe.runs_dir] });
    let flowRun = 0;

    const measure = {
      /** plan + add flows + agent, from planning to the round's root job completed */
      full: async (s: number): Promise<number> => {
        const { store } = await runs.doneRound(redis, p.ours, s);
        const t = now();
        const plan = planRound(recipe, store.id, 1, s)!;
        await addPlan(ours, plan, { id: store.id, dir: store.dir }, recipe);
        await waitCompleted(ours.queue('control'), jobId({ runId: store.id, ...plan }));
        return now() - t;
      },
      agentFlat: async (k: number): Promise<number> => {
        const store = await runs.create(redis, p.ours);
        runs.openRound(store, k);
        runs.markDone(store, Array.from({ length: k }, (_, shard) => ({ round: 1, stage: 'sample' as const, shard })));
        const q = ours.queue('sample');
        const before = await q.getCompletedCount();
        const t = now();
        await q.addBulk(flatJobs(store.id, store.dir, k, opts));
        await waitCount(q, before + k);
        return now() - t;
      },
      flowsBare: async (s: number): Promise<number> => {
        const runId = `flows-${++flowRun}`;
        const t = now();
        const plan = planRound(recipe, runId, 1, s)!;
        await addPlan(flows, plan, { id: runId, dir: '/nonexistent' }, recipe);
        await waitCompleted(flows.queue('control'), jobId({ runId, ...plan }));
        return now() - t;
      },
      /** The agent on 500 jobs spread over a round of `s` shards: its per-job cost must not grow with the round. */
      agentAt: async (s: number): Promise<number> => {
        const store = await runs.create(redis, p.ours);
        runs.openRound(store, s);
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
    const ms = { full: [] as number[], agentFlat: [] as number[], flowsBare: [] as number[], bareFlat: [] as number[], at100: [] as number[], at1000: [] as number[] };
    try {
      // Warm-up: connections, Lua script loading, JIT.
      await measure.full(10);
      await measure.agentFlat(jobsForShards(10));
      await measure.flowsBare(10);
      await measure.bareFlat(jobsForShards(10));
      const order = ['full', 'bareFlat', 'agentFlat', 'flowsBare'] as const;
      for (let r = 0; r < ctx.reps; r++) {
        // Rotate the order so slow phases of a shared machine do not always hit the same variant.
        for (let i = 0; i < order.length; i++) {
          const k = order[(i + r) % order.length];
          ms[k].push(await measure[k](k === 'full' || k === 'flowsBare' ? shards : n));
        }
        ctx.log(`control rep ${r + 1}: ${order.map((k) => `${k} ${(n / (ms[k].at(-1)! / 1000)).toFixed(0)} jobs/s`).join(', ')}`);
        // Per-job cost against the round's size, the two sizes back to back in alternating order.
        for (const size of r % 2 ? [1000, 100] : [100, 1000]) ms[size === 100 ? 'at100' : 'at1000'].push(await measure.agentAt(size));
        ctx.log(`control rep ${r + 1}: agent on 500 jobs of a 100-shard round ${ms.at100.at(-1)!.toFixed(0)} ms, of a 1,000-shard round ${ms.at1000.at(-1)!.toFixed(0)} ms`);
      }
    } finally {
      await agent.close(5000);
      await Promise.all(workers.map((w) => w.close()));
      await bareQueue.close();
      await ours.close();
      await flows.close();
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
      ours: `planRound (${shards} shards) → addPlan flows → WorkerAgent (done-record path)`,
      baseline: `${n} jobs via addBulk → bare BullMQ Worker, no-op processor`,
      rows: [
        row('throughput: planner + flows + agent', 'jobs/s', rate(ms.full), rate(ms.bareFlat), atLeast(0.8)),
        row('time per job: planner + flows + agent', 'ms', perJob(ms.full), perJob(ms.bareFlat)),
        row('split: agent alone on flat jobs', 'jobs/s', rate(ms.agentFlat), rate(ms.bareFlat)),
        row('split: flows served by bare no-op workers', 'jobs/s', rate(ms.flowsBare), rate(ms.bareFlat)),
        row('agent per-job cost, round of 1,000 shards vs 100 (500 jobs each, trust checks on)', 'ms', perJobOf(ms.at1000, 500), perJobOf(ms.at100, 500), atMost(1.5)),
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
