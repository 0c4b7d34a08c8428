/**
 * BullMQ keeps jobs, locks and flows as ordinary Redis keys: a server that evicts keys under
 * memory pressure (any `maxmemory-policy` but `noeviction`) silently loses jobs, and a lost flow
 * parent leaves a round waiting forever. `ipa submit`, `ipa run` and `ipa worker` refuse such a
 * server unless told otherwise (`--allow-eviction`).
 */
import type { Redis } from 'ioredis';
import { ExitCode, IpaError } from '../errors.js';

/** The server's `maxmemory-policy`: CONFIG GET, else INFO memory (managed services often disable CONFIG). */
export async function evictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as unknown as string[];
    if (reply?.[1]) return reply[1];
  } catch {
    // CONFIG is renamed or disabled on this server
  }
  const info = await redis.info('memory');
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
}

/** Throws (exit code 4) when the server may evict keys, unless `allow`; returns the policy. */
export async function checkEvictionPolicy(redis: Redis, opts: { allow?: boolean } = {}): Promise<string | undefined> {
  const policy = await evictionPolicy(redis);
  if (policy === undefined || policy === 'noeviction' || opts.allow) return policy;
  throw new IpaError(
    `Redis evicts keys under memory pressure (maxmemory-policy ${policy}): BullMQ would lose queued jobs and flows without a word. ` +
      'Set `maxmemory-policy noeviction` on the server (CONFIG SET maxmemory-policy noeviction, or in redis.conf), ' +
      'or pass --allow-eviction to run anyway.',
    ExitCode.redisUnavailable,
  );
}
