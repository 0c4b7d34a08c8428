/**
 * A stop that comes while a job's Python process is still starting (imports take seconds, more
 * on a busy machine): the start is abandoned and its process killed, the job goes back to the
 * queue untouched, and another agent completes the run. Before, the stop waited out the start
 * and the job ended past the stop's report, said as "did not end in time".
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jobId } from '../../orchestrator/plan/stages.js';
import { fakeWorker } from '../helpers/fake-worker.js';
import { harness, tinyRecipe, type Harness } from '../helpers/harness.js';
import { attemptLines, waitFor } from '../integration/faults-support.js';

/** Pids of the live processes whose environment holds `mark`. */
function processesMarked(mark: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(mark)) pids.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

describe('a stop while the Python process starts', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('kills the starting process, hands the job back without using an attempt, and another agent finishes the run', async () => {
    h = await harness('stopstart', tinyRecipe({ eval: { after: 'none' } }));
    const dir = mkdtempSync(join(tmpdir(), 'ipa-slowstart-'));
    const startMsFile = join(dir, 'start-ms');
    const mark = `IPA_TEST_MARK=${randomUUID()}`;
    const slow = fakeWorker({ seeds: 12, startMsFile });
    const agent = await h.startAgent({
      queues: ['control', 'prepare'],
      ...slow,
      pythonEnv: { ...slow.pythonEnv, IPA_TEST_MARK: mark.split('=')[1] },
    });
    // The warm process dies; the job's new one takes two minutes to be ready.
    const [warm] = agent.pythonPids();
    writeFileSync(startMsFile, '120000');
    process.kill(warm, 'SIGKILL');
    await waitFor('the warm process to be gone', () => agent.pythonPids().length === 0, 10_000, 20);
    const store = await h.submit();
    const id = jobId({ runId: store.id, round: 0, stage: 'prepare', shard: 0 });
    await waitFor('the slow Python start', () => processesMarked(mark).some((p) => p !== warm), 60_000, 50);

    const t0 = Date.now();
    await agent.close(100, 5000);
    // Far inside the fake's two-minute start: the stop did not wait for it.
    expect(Date.now() - t0).toBeLessThan(60_000);
    await waitFor('the starting process to be killed', () => processesMarked(mark).length === 0, 10_000, 50);
    const job = await h.queues.queue('prepare').getJob(id);
    expect(await job!.getState()).toBe('waiting');
    expect(job!.attemptsMade).toBe(0);
    expect(attemptLines(store, id)).toHaveLength(1);
    expect(store.doneRecord(id)).toBeUndefined();
    expect(store.info().state).toBe('running');

    await h.startAgent(fakeWorker({ seeds: 12 }));
    expect(await h.wait(store, 120_000)).toBe('completed');
    expect(store.doneRecord(id)?.attempts).toBe(2);
    rmSync(dir, { recursive: true, force: true });
  }, 240_000);
});
