/**
 * A train worker with two processes (`trainProcesses: 2`, what `ipa worker --train-procs 2` and
 * `--gpus 0,1` give), on the CPU over gloo, under a real agent and Redis, its ranks started by
 * torch's elastic launcher: kill -9 of rank 1 mid-training fails the try with the whole group
 * gone at once, BullMQ retries it, the retry resumes from the last complete checkpoint and ends at
 * the full step count, and the done record says two processes trained. Then two agents with one
 * process each and `--nodes 2` act as two nodes on loopback: the one that takes the queued job
 * leads, the other joins through Redis, and one done record says two processes trained.
 */
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerAgent } from '../../orchestrator/agent/agent.js';
import { groupKeys } from '../../orchestrator/agent/train-group.js';
import { defaultPython } from '../../orchestrator/bridge/python-process.js';
import { shardFile } from '../../orchestrator/plan/paths.js';
import { jobId } from '../../orchestrator/plan/stages.js';
import { queueLinks } from '../../orchestrator/queue/chains.js';
import { keys } from '../../orchestrator/queue/queues.js';
import { loadRecipe } from '../../orchestrator/recipe/load.js';
import { atomicWriteJsonl, readJsonl, sha256File } from '../../orchestrator/store/atomic.js';
import { registerRun } from '../../orchestrator/store/run-registry.js';
import { RunStore } from '../../orchestrator/store/run-store.js';
import { harness, REPO, tinyRecipe, type Harness } from '../helpers/harness.js';
import { alive, sleep, waitFor } from './faults-support.js';

const PAIRS = 24;
// Global batch 4 over 2 processes (2 each, no accumulation): 6 steps, a checkpoint after each.
const RECIPE = tinyRecipe({
  rounds: [{ name: 'automated', revision: false }],
  eval: { after: 'none' },
  training: {
    train_reviser: false,
    dpo: {
      batch_size: 2,
      grad_accum: 2,
      epochs: 1,
      learning_rate: 1e-2,
      max_length: 128,
      save_steps: 1,
      loss_type: 'sigmoid',
      heldout_pairs: 0,
    },
  },
});
const STEPS = PAIRS / 4;

const py = (args: string[]) =>
  execa(defaultPython(), args, { cwd: REPO, env: { ...process.env, PYTHONPATH: join(REPO, 'workers') } });

/** Pids of live training ranks (`-m ipa_worker.launch.rank`) anywhere on the machine. */
function rankPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return (
          readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes('ipa_worker.launch.rank') && alive(Number(d))
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A rank process's RANK, from its environment. */
function rankOf(pid: number): number {
  const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return Number(env.find((e) => e.startsWith('RANK='))?.slice(5) ?? NaN);
}

/** The newest checkpoint every rank finished (the launcher's mark). */
function lastMarked(dir: string): number {
  if (!existsSync(dir)) return 0;
  const steps = readdirSync(dir)
    .map((d) => /^checkpoint-(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => !!m && existsSync(join(dir, m[0], 'ipa_checkpoint.json')))
    .map((m) => Number(m[1]));
  return steps.length ? Math.max(...steps) : 0;
}

/** A run whose round 1 is open with its pairs written: its train job is the next to run. */
async function trainReady(h: Harness): Promise<{ store: RunStore; queueTrain: () => Promise<void> }> {
  const { recipe } = loadRecipe(h.recipeFile);
  const store = RunStore.create({ runsDir: h.runsDir, recipe, recipeFile: h.recipeFile, queuePrefix: h.prefix });
  // What `ipa submit` does besides: the agent trusts only jobs of runs registered on its Redis
  // and on its host.
  await h.queues.connection.hset(keys.runs(h.prefix), store.id, store.dir);
  registerRun({ id: store.id, dir: store.dir, created_at: store.info().created_at });
  // The round's pairs as if its pair job had run: a pair file and its done record.
  const { stdout } = await py(['workers/tests/pair_files.py', store.abs('round-1/pairs'), String(PAIRS)]);
  // Where the pair job writes its shard: the agent reads only files a job of the run writes.
  const pairsFile = store.abs(shardFile(1, 'pairs', 0));
  renameSync(stdout.trim(), pairsFile);
  const pairJob = jobId({ runId: store.id, round: 1, stage: 'pair', shard: 0 });
  const now = new Date().toISOString();
  store.writeDone({ job_id: pairJob, stage: 'pair', round: 1, shard: 0, outputs: { pairs: { path: pairsFile, rows: PAIRS, sha256: sha256File(pairsFile) } },
    metrics: {}, failed_items: [], attempts: 1, started_at: now, finished_at: now, duration_ms: 0, worker: 'test' }); // prettier-ignore
  // Round 1 is open (the agent checks a job against the plan of a round its predecessor opened).
  const seeds = atomicWriteJsonl(store.abs(shardFile(1, 'seeds', 0)), []);
  store.writeDone({ job_id: jobId({ runId: store.id, round: 0, stage: 'advance', shard: 0 }), stage: 'advance', round: 0, shard: 0, outputs: { seeds_0: seeds },
    metrics: {}, failed_items: [], attempts: 1, started_at: now, finished_at: now, duration_ms: 0, worker: 'test' }); // prettier-ignore
  return {
    store,
    queueTrain: () =>
      queueLinks(h.queues, [{ stage: 'train', round: 1, shard: 0 }], { id: store.id, dir: store.dir }, recipe).then(
        () => undefined,
      ),
  };
}

describe('training on two processes under a worker agent', () => {
  let h: Harness;
  let store: RunStore;

  beforeAll(async () => {
    h = await harness('ranks', RECIPE);
    const ready = await trainReady(h);
    store = ready.store;
    await h.startAgent({ queues: ['train'], trainProcesses: 2 });
    await ready.queueTrain();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('kill -9 of rank 1: the group goes at once, the retry resumes from the checkpoint, the record says world size 2', async () => {
    const id = jobId({ runId: store.id, round: 1, stage: 'train', shard: 0 });
    const ckpts = store.abs('round-1/checkpoints/policy');
    const logFile = store.abs(`logs/${id}.log`);
    // The ranks, from /proc (the job log says only how many there are, in words).
    const pids = await waitFor('the training group to start', () => {
      const started = existsSync(logFile) && readFileSync(logFile, 'utf8').includes('training on 2 process(es)');
      const live = started ? rankPids() : [];
      return live.length === 2 ? live.sort((x, y) => rankOf(x) - rankOf(y)) : undefined;
    });
    expect(pids).toHaveLength(2);
    // Freeze both ranks between two saves, so the kill lands mid-training at a known checkpoint.
    const step = await waitFor(
      'a checkpoint both ranks finished',
      async () => {
        if (lastMarked(ckpts) < 1) return undefined;
        for (const p of pids) process.kill(p, 'SIGSTOP');
        await sleep(100);
        const s = lastMarked(ckpts);
        if (s >= 1 && s < STEPS) return s;
        for (const p of pids) process.kill(p, 'SIGCONT');
        return undefined;
      },
      300_000,
      20,
    );
    const t0 = performance.now();
    process.kill(pids[1], 'SIGKILL');
    process.kill(pids[0], 'SIGCONT');
    await waitFor('the whole group to be gone', () => pids.every((p) => !alive(p)), 60_000, 10);
    const goneMs = performance.now() - t0;
    console.log(`train-ranks: rank 1 killed at checkpoint ${step}; the group was gone ${goneMs.toFixed(0)} ms later`);

    const rec = await waitFor(`${id} done`, () => store.doneRecord(id), 600_000);
    expect(rankPids().filter((p) => pids.includes(p))).toEqual([]);
    expect(rec.attempts).toBe(2);
    expect(rec.metrics.world_size).toBe(2);
    expect(rec.metrics.global_batch).toBe(4);
    expect(rec.metrics.per_device_batch).toBe(2);
    expect(rec.metrics.resumed_from_step).toBe(step);
    expect(rec.metrics.steps).toBe(STEPS);
    // BullMQ saw the failed try, and why.
    const job = await h.queues.queue('train').getJob(id);
    expect(job?.stacktrace?.[0]).toMatch(/rank 1 \(pid \d+\) was killed by SIGKILL/);
    // One metrics line per step across both tries, written by rank 0 only.
    const steps = readJsonl(store.abs('round-1/train_metrics.jsonl'))
      .filter((r) => r.model === 'policy')
      .map((r) => r.step);
    expect(steps).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(existsSync(join(rec.outputs.policy.path, 'adapter_model.safetensors'))).toBe(true);
  }, 900_000);
});

describe('one queued training job on two agents acting as two nodes', () => {
  let h: Harness;
  let store: RunStore;
  let agents: WorkerAgent[];

  beforeAll(async () => {
    h = await harness('nodes', RECIPE);
    const ready = await trainReady(h);
    store = ready.store;
    // What `ipa worker --queues train --train-procs 1 --nodes 2 --node-addr 127.0.0.1` starts, once per "node".
    agents = [
      await h.startAgent({ queues: ['train'], trainProcesses: 1, nodes: 2, nodeAddr: '127.0.0.1' }),
      await h.startAgent({ queues: ['train'], trainProcesses: 1, nodes: 2, nodeAddr: '127.0.0.1' }),
    ];
    await ready.queueTrain();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('the agent that takes the job leads, the other joins through Redis; one done record with world size 2', async () => {
    const id = jobId({ runId: store.id, round: 1, stage: 'train', shard: 0 });
    const rec = await waitFor(`${id} done`, () => store.doneRecord(id), 600_000);
    expect(rec.attempts).toBe(1);
    expect(rec.metrics.world_size).toBe(2);
    expect(rec.metrics.global_batch).toBe(4);
    expect(rec.metrics.per_device_batch).toBe(2);
    expect(rec.metrics.steps).toBe(STEPS);
    expect(existsSync(join(rec.outputs.policy.path, 'adapter_model.safetensors'))).toBe(true);
    // Written once, by the agent whose node ran global rank 0; the BullMQ job completed on the leader.
    await waitFor(
      'the job to complete',
      async () => ((await h.queues.queue('train').getJob(id))?.finishedOn ? true : undefined),
      150_000,
    );
    expect(agents.map((a) => a.jobsDone).sort()).toEqual([0, 1]);
    expect(agents.map((a) => a.id)).toContain(rec.worker);
    const log = readFileSync(store.abs(`logs/${id}.log`), 'utf8');
    expect(log).toMatch(/training on 2 process\(es\): 1 here, 2 nodes meeting at 127\.0\.0\.1:\d+/);
    // The node without rank 0 finished its part quietly: no failure reported to the leader.
    expect(log).not.toContain('on the joining node');
    // torch's launcher wrote a log file per rank, both nodes' ranks side by side.
    const ranks = readdirSync(store.abs(`logs/ranks/${id}/attempt-1`)).sort();
    expect(ranks).toEqual(['rank-0.stderr.log', 'rank-0.stdout.log', 'rank-1.stderr.log', 'rank-1.stdout.log']);
    // One metrics line per step, by rank 0 alone.
    const steps = readJsonl(store.abs('round-1/train_metrics.jsonl'))
      .filter((r) => r.model === 'policy')
      .map((r) => r.step);
    expect(steps).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    // No call is left open for a third node.
    expect(await h.queues.connection.llen(groupKeys.calls(h.prefix, 2))).toBe(0);
  }, 900_000);
});
