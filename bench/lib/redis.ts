/**
 * Redis for the benchmarks: REDIS_URL when set (the vitest global setup sets it), else a private
 * redis-server on loopback. Each measurement uses its own key prefix and deletes it afterwards.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LocalRedis } from '../../orchestrator/queue/local-redis.js';

export interface BenchRedis {
  url: string;
  stop(): Promise<void>;
}

export async function benchRedis(): Promise<BenchRedis> {
  const given = process.env.REDIS_URL;
  if (given) return { url: given, stop: async () => undefined };
  const local = await LocalRedis.start();
  return { url: local.url, stop: () => local.stop() };
}

export function benchPrefix(name: string): string {
  return `bench-${name}-${randomBytes(4).toString('hex')}`;
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}
