/**
 * Issue 30: a round's first jobs were refused as untrusted when an agent took them between the
 * advance job queueing the round and recording its opening. The race is reproduced on purpose —
 * the advance is held right after it queued the next round while a second agent takes that
 * round's first job — then a stress run: several agents on every queue, several runs of several
 * rounds at once, every run completes and no job is refused. Fake workers write real outputs
 * (test/fixtures/fake-worker), so the real agents, trust checks and input checks run in seconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { jobId } from '../../orchestrator/plan/stages.js';
import { QUEUE_KINDS } from '../../orchestrator/plan/stages.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { fakeWorker } from '../helpers/fake-worker.js';
import { harness, tinyRecipe, type Harness } from '../helpers/harness.js';
import { waitFor } from './faults-support.js';

const RECIPE = tinyRecipe({ eval: { after: 'none' }, data: { shard_size: 4 } });

describe('a round is trusted from the moment its jobs can be taken', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a second agent that takes the new round’s first job while the advance is held there runs it', async () => {
    h = await harness('race', RECIPE);
    const store = await h.submit();
    const first = jobId({ runId: store.id, round: 1, stage: 'sample', shard: 0 });
    const sampleQueue = h.queues.queue('sample');
    let seenWhileHeld: { state: string; failedReason?: string; taken: number } | undefined;
    // Agent A opens rounds; it stops right after queueing round 1 until agent B has dealt with its first job.
    await h.startAgent({
      queues: ['control', 'prepare'],
      ...fakeWorker({ seeds: 12 }),
      afterRoundQueued: async (runId, round) => {
        if (runId !== store.id || round !== 0) return;
        const job = await waitFor(
          'agent B to take round 1’s first job',
          async () => {
            const state = await sampleQueue.getJobState(first);
            const j =
              state === 'completed' || state === 'failed' || state === 'delayed'
                ? await sampleQueue.getJob(first)
                : undefined;
            return j ? { j, state } : undefined;
          },
          30_000,
        );
        seenWhileHeld = { state: job.state, failedReason: job.j.failedReason, taken: job.j.attemptsStarted };
      },
    });
    await h.startAgent({ queues: ['sample'], ...fakeWorker({ seeds: 12 }) });
    await waitFor('the advance of round 0 to be let go', async () => seenWhileHeld, 60_000);
    // Taken once: not refused, not held back.
    expect(seenWhileHeld).toEqual({ state: 'completed', failedReason: undefined, taken: 1 });
    // The rest of the run on an agent serving everything: it completes.
    await h.startAgent({ ...fakeWorker({ seeds: 12 }) });
    expect(await h.wait(store, 120_000)).toBe('completed');
  }, 180_000);

  it('a job its registered run does not hold yet is held back and looked at again, not failed at once', async () => {
    h = await harness('race-hold', RECIPE);
    const store = await h.submit();
    // A round-1 job queued by hand before round 0 has even run: its round is not open yet.
    const d = { runId: store.id, runDir: store.dir, round: 1, stage: 'sample' as const, shard: 0 };
    const sampleQueue = h.queues.queue('sample');
    await sampleQueue.add(jobId(d), d, { jobId: jobId(d), attempts: 3 });
    await h.startAgent({ queues: ['sample'], ...fakeWorker({ seeds: 12 }) });
    const held = await waitFor(
      'the job to be held back',
      async () => {
        const j = await sampleQueue.getJob(jobId(d));
        return j && (await j.getState()) === 'delayed' ? j : undefined;
      },
      30_000,
    );
    expect(held.attemptsMade).toBe(0);
    // Once the run opens round 1 the same job is taken and runs.
    await h.startAgent({ queues: ['control', 'prepare'], ...fakeWorker({ seeds: 12 }) });
    // Read again once completed: a job read before its state was checked may be older than the state.
    const done = await waitFor(
      'the held job to complete',
      async () => {
        const j = await sampleQueue.getJob(jobId(d));
        return j && (await j.getState()) === 'completed' ? sampleQueue.getJob(jobId(d)) : undefined;
      },
      60_000,
    );
    expect(done.attemptsMade).toBe(1);
    expect(store.doneRecord(jobId(d))).toBeDefined();
  }, 120_000);
});

describe('stress: several agents, several runs of several rounds', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('every run completes and no job is refused', async () => {
    h = await harness('race-stress', { ...RECIPE, rounds: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
    const stores: RunStore[] = [];
    for (let i = 0; i < 3; i++) stores.push(await h.submit());
    for (let i = 0; i < 4; i++) await h.startAgent({ concurrency: 2, ...fakeWorker({ seeds: 16, stageMs: 5 }) });
    const ends = await Promise.all(stores.map((s) => h!.wait(s, 240_000)));
    expect(ends).toEqual(['completed', 'completed', 'completed']);
    const failed: Job[] = (await Promise.all(QUEUE_KINDS.map((q) => h!.queues.queue(q).getFailed()))).flat();
    expect(failed.map((j) => `${j.id}: ${j.failedReason}`)).toEqual([]);
    // Every job of every round ran: round 0 (prepare, advance); round 1 on 16 seeds in 4 shards
    // (5 stages each, train, advance); rounds 2 and 3 on the 4 challenging rows the fake pair jobs
    // wrote, one shard; the report.
    for (const s of stores) expect(s.doneIds().size).toBe(2 + (4 * 5 + 2) + 2 * (5 + 2) + 1);
  }, 300_000);
});
