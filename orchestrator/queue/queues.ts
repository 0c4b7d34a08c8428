/**
 * One BullMQ queue per stage kind, shared by every run (a fleet serves all runs); `prefix`
 * namespaces a deployment or a test. Job options come from the recipe's orchestration section.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Deadline } from '../deadline.js';
import { QUEUE_KINDS, type QueueKind } from '../plan/stages.js';
import type { Recipe } from '../recipe/schema.js';
import { JobSigner } from './job-signer.js';

/** @defaultValue 'ipa' (override with IPA_QUEUE_PREFIX) */
export const DEFAULT_PREFIX = process.env.IPA_QUEUE_PREFIX ?? 'ipa';

export class QueueSet {
  private readonly queues = new Map<QueueKind, Queue>();

  constructor(
    readonly connection: Redis,
    readonly prefix: string = DEFAULT_PREFIX,
    /** Signs registry entries and jobs (job-signer.ts). @defaultValue the signer of `$IPA_SECRET_FILE`, else none */
    readonly signer: JobSigner | undefined = JobSigner.fromEnv(),
  ) {}

  queue(kind: QueueKind): Queue {
    let q = this.queues.get(kind);
    if (!q) {
      q = new Queue(kind, { connection: this.connection, prefix: this.prefix });
      q.on('error', () => undefined); // connection errors surface on the commands that need Redis
      this.queues.set(kind, q);
    }
    return q;
  }

  all(): Queue[] {
    return QUEUE_KINDS.map((k) => this.queue(k));
  }

  /**
   * Global concurrency per queue: models how many GPUs of the fleet a stage may hold at once.
   * Every queue the recipe names is set; a key that is no queue kind fails the type check here.
   */
  async applyConcurrency(recipe: Recipe): Promise<void> {
    const limits = recipe.orchestration.concurrency;
    const kinds = Object.keys(limits) as Array<keyof typeof limits>;
    await Promise.all(kinds.map((kind) => this.queue(kind).setGlobalConcurrency(limits[kind])));
  }

  /** Closes the queues (they share `connection`, which stays open), waiting at most until `deadline`. */
  async close(deadline?: Deadline): Promise<void> {
    const closing = Promise.all([...this.queues.values()].map((q) => q.close()));
    if (deadline) await deadline.settle(closing);
    else await closing;
  }
}

/**
 * BullMQ Worker timing, set per worker (`ipa worker --lock-ms/--stalled-ms`), not per run: a
 * running job's lock lasts this long and is renewed at half of it, so a dead worker's job is
 * recovered about this long after it died.
 */
export const DEFAULT_LOCK_DURATION_MS = 60_000;
/** How often a worker looks for jobs whose lock expired (stalled: their worker is gone). */
export const DEFAULT_STALLED_INTERVAL_MS = 30_000;

/** Retries with exponential backoff; completed jobs stay a week for the dashboard. */
export function jobOptions(recipe: Recipe): JobsOptions {
  const o = recipe.orchestration;
  return {
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: o.backoff_ms },
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: false,
  };
}

/** Redis keys of ipa's own bookkeeping, under the same prefix as the queues. */
export const keys = {
  workers: (prefix: string) => `${prefix}:ipa:workers`,
  worker: (prefix: string, id: string) => `${prefix}:ipa:worker:${id}`,
  runs: (prefix: string) => `${prefix}:ipa:runs`,
  control: (prefix: string) => `${prefix}:ipa:control`,
  /** The shards of a round whose chains are finished (queue/chains.ts: the fan-in). */
  finishedShards: (prefix: string, runId: string, round: number) => `${prefix}:ipa:finished:${runId}:r${round}`,
};
