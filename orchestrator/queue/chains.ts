/**
 * Queues a round as chains (plan/chain.ts): the jobs that can run now, each as a plain BullMQ
 * job with a deterministic id, so adding one again while it exists is a no-op — a retried or
 * repeated add never makes a second job. One flow a round cost 2.4× the CPU of independent jobs
 * per job, chains 1.75× (bench/fan-in.ts); what BullMQ flows did is kept: a job runs after its
 * predecessor (queued only once that one's done record is written, and checked again by the agent),
 * the round's first stage after every shard (the fan-in below), exactly one done record per job.
 */
import type { JobsOptions } from 'bullmq';
import type { Link } from '../plan/chain.js';
import { jobId, STAGE_QUEUE, type JobDescriptor, type QueueKind } from '../plan/stages.js';
import type { Recipe } from '../recipe/schema.js';
import type { JobSigner } from './job-signer.js';
import { jobOptions, keys, type QueueSet } from './queues.js';

export interface QueuedJob {
  name: string;
  queue: QueueKind;
  data: JobDescriptor & { sig?: string };
  opts: JobsOptions;
}

/** The BullMQ job of one link of run `run`: coordinates only, signed when a queue secret is set. */
export function jobFor(link: Link, run: { id: string; dir: string }, recipe: Recipe, signer?: JobSigner): QueuedJob {
  const coords: JobDescriptor = {
    runId: run.id,
    runDir: run.dir,
    round: link.round,
    stage: link.stage,
    shard: link.shard,
  };
  const id = jobId(coords);
  return {
    name: id,
    queue: STAGE_QUEUE[link.stage],
    data: signer ? { ...coords, sig: signer.signJob(id, coords) } : coords,
    opts: { ...jobOptions(recipe), jobId: id },
  };
}

/** Adds the links' jobs (one bulk add per queue); a job whose id is already queued is left as it is. */
export async function queueLinks(
  queues: QueueSet,
  links: readonly Link[],
  run: { id: string; dir: string },
  recipe: Recipe,
): Promise<number> {
  const byQueue = new Map<QueueKind, QueuedJob[]>();
  for (const l of links) {
    const j = jobFor(l, run, recipe, queues.signer);
    byQueue.set(j.queue, [...(byQueue.get(j.queue) ?? []), j]);
  }
  await Promise.all(
    [...byQueue].map(([q, jobs]) =>
      queues.queue(q).addBulk(jobs.map(({ name, data, opts }) => ({ name, data, opts }))),
    ),
  );
  return links.length;
}

/**
 * Records that shard `shard` of the round finished its chain; returns how many shards have. The
 * count is a claim (Redis is writable by others): the caller checks the run directory before it
 * opens the fan-in. A lost set (FLUSHALL) is filled again by `ipa resume` (`recordFinishedShards`).
 */
export async function finishShard(queues: QueueSet, runId: string, round: number, shard: number): Promise<number> {
  const key = keys.finishedShards(queues.prefix, runId, round);
  const res = await queues.connection.multi().sadd(key, String(shard)).scard(key).exec();
  return Number(res?.[1]?.[1] ?? 0);
}

export async function recordFinishedShards(
  queues: QueueSet,
  runId: string,
  round: number,
  shards: readonly number[],
): Promise<void> {
  if (shards.length)
    await queues.connection.sadd(keys.finishedShards(queues.prefix, runId, round), ...shards.map(String));
}

export async function forgetFinishedShards(queues: QueueSet, runId: string, round: number): Promise<void> {
  await queues.connection.del(keys.finishedShards(queues.prefix, runId, round));
}
