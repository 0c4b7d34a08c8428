/**
 * kill -9 of a whole worker agent (its Node process) mid-job: the job's lock expires, another
 * agent's stalled-job check puts it back in the queue and that agent runs it again. The dead
 * agent's Python child sees stdin close and exits on its own. Whatever the dead try left on disk
 * without a done record is ignored; training resumes from the dead try's last checkpoint.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJsonl, sha256File } from '../../orchestrator/store/atomic.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { harness, type Harness } from '../helpers/harness.js';
import {
  AgentProcess,
  alive,
  attemptLines,
  freezeMidway,
  idOf,
  jsonlRows,
  lastCompleteCheckpoint,
  pythonChildren,
  ROUND_QUEUES,
  ROUND_RECIPE,
  ROUND_RESPONSES,
  waitFor,
} from './faults-support.js';

/** Short lock and stall check so that recovery takes seconds. */
const FAST_STALL = ['--lock-ms', '2000', '--stalled-ms', '1000', '--grace-ms', '1000'];

describe('kill -9 of the Node worker agent', () => {
  let h: Harness;
  let store: RunStore;
  const procs: AgentProcess[] = [];

  beforeAll(async () => {
    h = await harness('nodekill', ROUND_RECIPE);
  });

  afterAll(async () => {
    for (const p of procs) {
      const orphans = pythonChildren(p.pid);
      await p.kill9();
      for (const pid of orphans) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await h?.close();
  });

  /** SIGKILLs the agent process and waits until its Python children are gone. */
  async function killAgent(p: AgentProcess): Promise<number[]> {
    const children = pythonChildren(p.pid);
    expect(children.length, p.tail()).toBeGreaterThan(0);
    await p.kill9();
    // A child stopped by freezeMidway must run again to see its agent's pipes close.
    for (const pid of children) if (alive(pid)) process.kill(pid, 'SIGCONT');
    await waitFor('the dead agent’s Python processes to exit', () => children.every((pid) => !alive(pid)), 60_000);
    return children;
  }

  it('mid-sampling: another agent recovers the stalled job, ignores the half-written output, completes it', async () => {
    const first = new AgentProcess(h, ROUND_QUEUES, FAST_STALL);
    procs.push(first);
    store = await h.submit();
    const id = idOf(store, 'sample');
    await freezeMidway(h, 'sample', id, () => {
      const pids = pythonChildren(first.pid);
      return pids.length === 1 ? pids[0] : undefined;
    });
    const t0 = Date.now();
    const children = await killAgent(first);
    const orphanGoneMs = Date.now() - t0;
    expect(children).toHaveLength(1);
    expect(store.doneRecord(id)).toBeUndefined();
    // A non-atomic writer would leave this behind; without a done record it must not count.
    const out = store.abs('round-1/responses/shard-000.jsonl');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, '{"seed_id": "half-writ');

    const second = await h.startAgent({
      queues: ROUND_QUEUES.filter((q) => q !== 'train'),
      lockDurationMs: 2000,
      stalledIntervalMs: 500,
    });
    const rec = await waitFor(`${id} done`, () => store.doneRecord(id));

    expect(orphanGoneMs).toBeLessThan(60_000);
    expect(rec.worker).toBe(second.id);
    const lines = attemptLines(store, id);
    expect(lines).toHaveLength(2);
    expect(lines[0].worker).not.toBe(second.id);
    expect(lines[1].worker).toBe(second.id);
    expect(rec.attempts).toBe(2);
    expect(rec.outputs.responses.rows).toBe(ROUND_RESPONSES);
    expect(jsonlRows(out)).toBe(ROUND_RESPONSES);
    expect(sha256File(out)).toBe(rec.outputs.responses.sha256);
    expect(new Set(readJsonl(out).map((r) => r.sample_id)).size).toBe(ROUND_RESPONSES);
    // A stall is not a failed try: BullMQ counts it apart and the job completed on its first attempt.
    const job = await h.queues.queue('sample').getJob(id);
    expect(job?.stacktrace ?? []).toHaveLength(0);
    expect(job?.stalledCounter).toBe(1);
  }, 300_000);

  it('mid-training: the recovered job resumes from the dead agent’s last checkpoint', async () => {
    const trainer = new AgentProcess(h, ['train'], FAST_STALL);
    procs.push(trainer);
    const id = idOf(store, 'train');
    const ckpts = store.abs('round-1/checkpoints/policy');
    await waitFor('a checkpoint at step >= 2', () => lastCompleteCheckpoint(ckpts) >= 2, 300_000, 50);
    await killAgent(trainer);
    // The orphaned trainer stops at its next step end without starting another save, so the
    // newest checkpoint on disk is complete and is where the next try resumes.
    const step = lastCompleteCheckpoint(ckpts);
    expect(step).toBeGreaterThanOrEqual(2);

    const rescuer = await h.startAgent({ queues: ['train'], lockDurationMs: 2000, stalledIntervalMs: 500 });
    const rec = await waitFor(`${id} done`, () => store.doneRecord(id));

    const pairs = store.doneRecord(idOf(store, 'pair'))!.outputs.pairs.rows;
    const dpo = (store.recipe().training as { dpo: { batch_size: number; epochs: number } }).dpo;
    // DPO trains on the pairs left after the held-out slice (training.dpo.heldout_pairs).
    const trained = rec.metrics.train_rows as number;
    expect(trained + (rec.metrics.pairs_heldout_pairs as number)).toBe(pairs);
    const uninterrupted = Math.ceil(trained / dpo.batch_size) * dpo.epochs;
    expect(step).toBeLessThan(uninterrupted);
    expect(rec.worker).toBe(rescuer.id);
    expect(rec.attempts).toBe(2);
    expect(rec.metrics.resumed_from_step).toBe(step);
    expect(rec.metrics.steps).toBe(uninterrupted);
    const steps = readJsonl(store.abs('round-1/train_metrics.jsonl'))
      .filter((r) => r.model === 'policy')
      .map((r) => r.step);
    expect(steps).toEqual(Array.from({ length: uninterrupted }, (_, i) => i + 1));
  }, 300_000);
});
