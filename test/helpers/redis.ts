/** Per-test Redis isolation: a unique BullMQ prefix, and removal of every key under it. */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connect } from '../../orchestrator/queue/connection.js';

export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: the vitest global setup starts redis-server');
  return url;
}

export function uniquePrefix(name = 't'): string {
  return `test-${name}-${randomBytes(4).toString('hex')}`;
}

export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) n += await redis.del(...keys);
  } while (cursor !== '0');
  return n;
}

export function testConnection(): Redis {
  return connect(redisUrl());
}
