/**
 * `ipa cancel`: the run becomes `cancelled` in its run directory (so no agent starts another of
 * its jobs), every agent is told to stop the run's running jobs, and its waiting jobs are
 * removed from every queue. Outputs of stopped jobs have no done record and are never used.
 */
import { QUEUE_KINDS } from '../plan/stages.js';
import { keys, type QueueSet } from '../queue/queues.js';
import type { RunStore } from '../store/run-store.js';

/** Job states of a job that has not started yet. */
const NOT_STARTED = ['waiting', 'delayed', 'prioritized', 'waiting-children'] as const;

/** The message agents listen for on the control channel. */
export interface ControlMessage {
  action: 'cancel';
  runId: string;
}

/**
 * Cancels the run; returns how many queued jobs were removed. The state is written before the
 * queues are awaited, so the cancel holds even when Redis cannot be reached: agents read the
 * state before every job.
 */
export async function cancelRun(store: RunStore, queueSet: QueueSet | Promise<QueueSet>): Promise<{ removed: number }> {
  store.setState('cancelled', { force: true });
  const queues = await queueSet;
  const msg: ControlMessage = { action: 'cancel', runId: store.id };
  await queues.connection.publish(keys.control(queues.prefix), JSON.stringify(msg));
  let removed = 0;
  for (const kind of QUEUE_KINDS) {
    for (const job of await queues.queue(kind).getJobs([...NOT_STARTED])) {
      if (job?.data?.runId !== store.id) continue;
      await job.remove({ removeChildren: true }).catch(() => undefined);
      removed++;
    }
  }
  return { removed };
}
