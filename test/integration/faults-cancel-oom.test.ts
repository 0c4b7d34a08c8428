/**
 * `ipa cancel` during a running job, and CUDA out-of-memory (injected on CPU through the
 * worker's test-only IPA_WORKER_FAULTS switch, mid-generation) retried with half the batch after
 * the worker freed what the retry does not need.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../orchestrator/cli/main.js';
import { buildManifest } from '../../orchestrator/store/manifest.js';
import { harness, type Harness } from '../helpers/harness.js';
import { redisUrl } from '../helpers/redis.js';
import {
  alive,
  attemptLines,
  idOf,
  jsonlRows,
  sampleRecipe,
  SAMPLE_QUEUES,
  sleep,
  waitFor,
  waitMidway,
} from './faults-support.js';

describe('faults: cancel and out-of-memory', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('ipa cancel stops the running job cleanly, discards its output and runs nothing after it', async () => {
    h = await harness('cancel', sampleRecipe());
    // Every queue: were anything of the run left queued, this agent would run it.
    const agent = await h.startAgent();
    const store = await h.submit();
    const id = idOf(store, 'sample');
    await waitMidway(h, 'sample', id);
    const [pid] = agent.pythonPids();

    const t0 = Date.now();
    expect(await main(['cancel', store.dir, '--redis-url', redisUrl(), '--prefix', h.prefix])).toBe(0);
    // The state is read after the job's hash: a job that failed in between would come back as
    // 'failed' with the hash read before the failure (no failedReason). Read it again once failed.
    const job = await waitFor(
      'the cancelled job to fail',
      async () => {
        const j = await h!.queues.queue('sample').getJob(id);
        return j && (await j.getState()) === 'failed' ? h!.queues.queue('sample').getJob(id) : undefined;
      },
      60_000,
      50,
    );
    const stopMs = Date.now() - t0;

    expect(store.info().state).toBe('cancelled');
    expect(job?.failedReason).toBe('cancelled');
    // The Python side stopped at its next batch on the cancel message: well within the bridge's
    // 10 s grace before SIGTERM, and the process (with its loaded model) lives on.
    expect(stopMs).toBeLessThan(10_000);
    expect(agent.pythonPids()).toEqual([pid]);
    expect(alive(pid)).toBe(true);
    expect(readFileSync(store.logPath(id), 'utf8')).toContain('Cancelled: cancelled by the orchestrator');
    expect(store.doneRecord(id)).toBeUndefined();
    expect(existsSync(store.abs('round-1/responses/shard-000.jsonl'))).toBe(false);
    const responses = store.abs('round-1/responses');
    expect(existsSync(responses) ? readdirSync(responses) : []).toEqual([]);

    // Nothing more runs: the run's waiting jobs are gone and no try starts afterwards.
    const attempts = [...store.allAttempts().keys()].sort();
    const done = [...store.doneIds()].sort();
    await sleep(3000);
    expect([...store.allAttempts().keys()].sort()).toEqual(attempts);
    expect([...store.doneIds()].sort()).toEqual(done);
    expect(attempts.filter((a) => !done.includes(a))).toEqual([id]);
    for (const kind of SAMPLE_QUEUES.concat(['verify', 'pair', 'train', 'eval'])) {
      const counts = await h.queues
        .queue(kind)
        .getJobCounts('waiting', 'delayed', 'waiting-children', 'active', 'prioritized');
      expect({ kind, ...counts }).toEqual({
        kind,
        waiting: 0,
        delayed: 0,
        'waiting-children': 0,
        active: 0,
        prioritized: 0,
      });
    }
  }, 300_000);

  it('CUDA out of memory: the job is retried with half the batch, and the run directory records it', async () => {
    h = await harness('oom', sampleRecipe());
    await h.startAgent({ queues: SAMPLE_QUEUES, pythonEnv: { IPA_WORKER_FAULTS: 'oom:sample' } });
    const store = await h.submit();
    const id = idOf(store, 'sample');
    const rec = await waitFor(`${id} done`, () => store.doneRecord(id));

    const batch = (store.recipe().sampling as { batch_size: number }).batch_size;
    expect(attemptLines(store, id).map((l) => [l.attempt, l.batch_scale])).toEqual([
      [1, 1],
      [2, 0.5],
    ]);
    expect(rec.attempts).toBe(2);
    expect(rec.metrics.batch_size).toBe(Math.max(1, Math.floor(batch * 0.5)));
    expect(rec.metrics.batch_size).toBeLessThan(batch);
    expect(rec.outputs.responses.rows).toBe(24);
    expect(jsonlRows(rec.outputs.responses.path)).toBe(24);
    const log = readFileSync(store.logPath(id), 'utf8');
    expect(log).toContain('OutOfMemory: CUDA out of memory (injected by IPA_WORKER_FAULTS');
    // The fault struck mid-generation, the engine built: before the retry the worker freed what
    // the retry does not need and kept the base it does (the retry reloads nothing).
    const model = (store.recipe().model as { base: string }).base;
    expect(log).toMatch(/out of memory: released .* and the allocator's cache; kept the hf engine on /);
    expect(log).toContain(`kept the hf engine on ${model} for the retry`);
    expect(log.indexOf('out of memory: released')).toBeLessThan(log.indexOf('OutOfMemory: CUDA out of memory'));
    expect(log.match(/built the hf engine on /g)).toHaveLength(1); // by the first try; the retry reused it
    expect(buildManifest(store).jobs[id]).toMatchObject({ done: true, attempts: 2, rows: 24 });
    const job = await h.queues.queue('sample').getJob(id);
    expect(job?.data.batchScale).toBe(0.5);
    expect(job?.stacktrace?.[0]).toContain('out of memory; retrying with batch_scale 0.5');
  }, 300_000);
});
