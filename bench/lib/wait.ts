/** Completion checks by polling Redis: the same probe for ours and the baseline, whatever runs the jobs. */
import type { Queue } from 'bullmq';
import { sleep } from './stats.js';

const POLL_MS = 5;

export async function waitCompleted(queue: Queue, id: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await queue.getJobState(id);
    if (s === 'completed') return;
    if (s === 'failed') throw new Error(`job ${id} failed: ${(await queue.getJob(id))?.failedReason}`);
    if (Date.now() > deadline) throw new Error(`job ${id} not completed after ${timeoutMs} ms (state ${s})`);
    await sleep(POLL_MS);
  }
}

export async function waitCount(queue: Queue, count: number, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await queue.getCompletedCount();
    if (c >= count) return;
    if (Date.now() > deadline) throw new Error(`${queue.name}: ${c}/${count} completed after ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}
