/**
 * Connected workers: each agent keeps a short-lived key (heartbeat) describing itself and its
 * current jobs; a key that stops being refreshed expires, so a dead worker disappears by itself.
 */
import type { Redis } from 'ioredis';
import { keys } from '../queue/queues.js';

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  gpu: string | null;
  /** Processes each training job runs as (one per device); absent from workers older than the field. */
  train_processes?: number;
  concurrency: number;
  devices: unknown[];
  backends: string[];
  versions: Record<string, string>;
  started_at: string;
  heartbeat_at: string;
  current: Array<{
    job_id: string;
    stage: string;
    run: string;
    round: number;
    shard: number;
    started_at: string;
    progress?: unknown;
  }>;
}

/** @defaultValue 15 s: three missed heartbeats. */
export const HEARTBEAT_TTL_S = 15;
export const HEARTBEAT_EVERY_MS = 5000;

export async function publishWorker(redis: Redis, prefix: string, info: WorkerInfo): Promise<void> {
  await redis
    .multi()
    .set(keys.worker(prefix, info.id), JSON.stringify(info), 'EX', HEARTBEAT_TTL_S)
    .sadd(keys.workers(prefix), info.id)
    .exec();
}

export async function removeWorker(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.multi().del(keys.worker(prefix, id)).srem(keys.workers(prefix), id).exec();
}

export async function listWorkers(redis: Redis, prefix: string): Promise<WorkerInfo[]> {
  const ids = await redis.smembers(keys.workers(prefix));
  if (!ids.length) return [];
  const vals = await redis.mget(ids.map((id) => keys.worker(prefix, id)));
  const live: WorkerInfo[] = [];
  const gone: string[] = [];
  vals.forEach((v, i) => (v ? live.push(JSON.parse(v) as WorkerInfo) : gone.push(ids[i])));
  if (gone.length) await redis.srem(keys.workers(prefix), ...gone);
  return live.sort((a, b) => a.id.localeCompare(b.id));
}
