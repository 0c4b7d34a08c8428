/**
 * kill -9 of the Python process under a running agent: the try fails, BullMQ retries it with
 * backoff in a restarted process, and the stage's output ends complete. Sampling restarts from
 * scratch (same seeds, same texts); training resumes from its last checkpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerAgent } from '../../orchestrator/agent/agent.js';
import { readJsonl } from '../../orchestrator/store/atomic.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { harness, type Harness } from '../helpers/harness.js';
import {
  alive,
  attemptLines,
  freezeMidway,
  idOf,
  jsonlRows,
  lastCompleteCheckpoint,
  ROUND_QUEUES,
  ROUND_RECIPE,
  ROUND_RESPONSES,
  sleep,
  waitFor,
} from './faults-support.js';

describe('kill -9 of the Python process', () => {
  let h: Harness;
  let agent: WorkerAgent;
  let store: RunStore;

  beforeAll(async () => {
    h = await harness('pykill', ROUND_RECIPE);
    agent = await h.startAgent({ queues: ROUND_QUEUES });
    store = await h.submit();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('mid-sampling: the job is retried in a restarted process and its output is complete', async () => {
    const id = idOf(store, 'sample');
    const at = await freezeMidway(h, 'sample', id, () => {
      const pids = agent.pythonPids();
      return pids.length === 1 ? pids[0] : undefined;
    });
    const pid = at.pid;
    expect(store.doneRecord(id)).toBeUndefined();
    process.kill(pid, 'SIGKILL');
    const rec = await waitFor(`${id} done`, () => store.doneRecord(id));

    expect(at.done).toBeLessThan(at.total);
    expect(alive(pid)).toBe(false);
    const now = agent.pythonPids();
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(pid);
    expect(rec.attempts).toBe(2);
    expect(attemptLines(store, id).map((l) => l.attempt)).toEqual([1, 2]);
    // BullMQ saw one failed try (the crash) and one that completed. The record is written before
    // the job queues its successor and completes: wait for BullMQ's side.
    const job = await waitFor(`${id} completed in BullMQ`, async () => {
      const j = await h.queues.queue('sample').getJob(id);
      return (await j?.getState()) === 'completed' ? j : undefined;
    });
    expect(job?.attemptsMade).toBe(2);
    expect(job?.stacktrace ?? []).toHaveLength(1);
    expect(job?.stacktrace?.[0]).toContain('python process exited (code null, signal SIGKILL)');
    const out = rec.outputs.responses;
    expect(out.rows).toBe(ROUND_RESPONSES);
    expect(jsonlRows(out.path)).toBe(ROUND_RESPONSES);
    const ids = readJsonl(out.path).map((r) => r.sample_id as string);
    expect(new Set(ids).size).toBe(ROUND_RESPONSES);
  }, 300_000);

  it('mid-training: the retried try resumes from the last checkpoint and ends at the full step count', async () => {
    const id = idOf(store, 'train');
    const ckpts = store.abs('round-1/checkpoints/policy');
    // Stop the trainer between two saves: SIGKILL in the middle of writing a checkpoint is a
    // different fault (see the report), and the freeze makes the kill land where we looked.
    const { pid, step } = await waitFor(
      'a complete checkpoint at step >= 2',
      async () => {
        if (lastCompleteCheckpoint(ckpts) < 2) return undefined;
        const pids = agent.pythonPids();
        if (pids.length !== 1) return undefined;
        process.kill(pids[0], 'SIGSTOP');
        await sleep(100);
        const s = lastCompleteCheckpoint(ckpts);
        if (s >= 2) return { pid: pids[0], step: s };
        process.kill(pids[0], 'SIGCONT');
        return undefined;
      },
      300_000,
      30,
    );
    process.kill(pid, 'SIGKILL');
    const rec = await waitFor(`${id} done`, () => store.doneRecord(id));

    expect(alive(pid)).toBe(false);
    const pairs = store.doneRecord(idOf(store, 'pair'))!.outputs.pairs.rows;
    expect(pairs).toBeGreaterThan(0);
    const dpo = (store.recipe().training as { dpo: { batch_size: number; epochs: number } }).dpo;
    // What an uninterrupted run does: ceil(rows / batch) steps per epoch (grad_accum 1).
    // DPO trains on the pairs left after the held-out slice (training.dpo.heldout_pairs).
    const trained = rec.metrics.train_rows as number;
    expect(trained + (rec.metrics.pairs_heldout_pairs as number)).toBe(pairs);
    const uninterrupted = Math.ceil(trained / dpo.batch_size) * dpo.epochs;
    expect(step).toBeLessThan(uninterrupted);
    expect(rec.attempts).toBe(2);
    expect(rec.metrics.resumed_from_step).toBe(step);
    expect(rec.metrics.steps).toBe(uninterrupted);
    // One metrics line per step, none logged twice across the two tries.
    const steps = readJsonl(store.abs('round-1/train_metrics.jsonl'))
      .filter((r) => r.model === 'policy')
      .map((r) => r.step);
    expect(steps).toEqual(Array.from({ length: uninterrupted }, (_, i) => i + 1));
  }, 300_000);
});
