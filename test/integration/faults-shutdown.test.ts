/**
 * Graceful shutdown: `WorkerAgent.close(graceMs)` while a job runs. Within the grace the job
 * finishes; past it the job is cancelled and handed back to the queue (the run stays healthy)
 * and another agent completes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { harness, type Harness } from '../helpers/harness.js';
import {
  alive,
  attemptLines,
  idOf,
  jsonlRows,
  sampleRecipe,
  SAMPLE_QUEUES,
  waitFor,
  waitMidway,
} from './faults-support.js';

describe('graceful shutdown of a worker agent', () => {
  let h: Harness;
  let store: RunStore;
  let ids: string[];

  beforeAll(async () => {
    h = await harness('shutdown', sampleRecipe(2));
  });

  afterAll(async () => {
    await h?.close();
  });

  /** Waits until one of the two sample shards is mid-way; returns its id. */
  async function runningShard(): Promise<string> {
    return waitFor(
      'a sample shard mid-way',
      async () => {
        for (const id of ids) {
          try {
            await waitMidway(h, 'sample', id, 1);
            return id;
          } catch {
            // not this one (yet)
          }
        }
        return undefined;
      },
      300_000,
      50,
    );
  }

  it('a job that ends within the grace period finishes; no new job is taken meanwhile', async () => {
    const agent = await h.startAgent({ queues: SAMPLE_QUEUES });
    store = await h.submit();
    ids = [0, 1].map((s) => idOf(store, 'sample', 1, s));
    const id = await runningShard();
    const other = ids.find((x) => x !== id)!;

    const grace = 120_000;
    const t0 = Date.now();
    await agent.close(grace);
    const closeMs = Date.now() - t0;

    expect(closeMs).toBeLessThan(grace);
    const rec = store.doneRecord(id);
    expect(rec?.worker).toBe(agent.id);
    expect(rec?.attempts).toBe(1);
    expect(jsonlRows(rec!.outputs.responses.path)).toBe(24);
    expect(attemptLines(store, other)).toEqual([]);
    expect(agent.pythonPids()).toEqual([]);
    expect(store.info().state).toBe('running');
  }, 300_000);

  it('a job still running when the grace ends is handed back and completed by another agent', async () => {
    const agent = await h.startAgent({ queues: SAMPLE_QUEUES });
    const id = ids.find((x) => !store.doneRecord(x))!;
    // Early in the job, so the cancel after the grace still finds batches left to skip.
    await waitMidway(h, 'sample', id, 300_000, 0.5);
    const [pid] = agent.pythonPids();

    const grace = 300;
    const t0 = Date.now();
    await agent.close(grace);
    const closeMs = Date.now() - t0;

    // Past the grace: the cancel reaches Python at its next batch, well before the bridge's
    // 10 s SIGTERM; then the process is shut down.
    expect(closeMs).toBeLessThan(grace + 10_000);
    expect(alive(pid)).toBe(false);
    expect(store.doneRecord(id)).toBeUndefined();
    const job = await h.queues.queue('sample').getJob(id);
    expect(await job?.getState()).toBe('waiting');
    expect(job?.attemptsMade).toBe(0);
    expect(store.info().state).toBe('running');

    const next = await h.startAgent({ queues: SAMPLE_QUEUES });
    const rec = await waitFor(`${id} done`, () => store.doneRecord(id));
    expect(rec.worker).toBe(next.id);
    expect(attemptLines(store, id).map((l) => l.worker)).toEqual([agent.id, next.id]);
    expect(rec.outputs.responses.rows).toBe(24);
    expect(jsonlRows(rec.outputs.responses.path)).toBe(24);
    expect(store.info().state).toBe('running');
  }, 300_000);
});
