/**
 * Redis connections from a URL. `redis://[user:password@]host:port/db` and `rediss://` (TLS)
 * both work; the password never reaches a log line (see `redactUrl`).
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Deadline } from '../deadline.js';

/** BullMQ requires `maxRetriesPerRequest: null` on connections that block. */
export function connect(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...extra });
}

/**
 * Closes a connection by the deadline: QUIT when Redis answers, then a disconnect in any case, so
 * no reconnect timer outlives the close. Returns whether the QUIT went through. Commands still
 * pending on a Redis that is gone stay pending (ioredis 6 does not reject them on a disconnect
 * while it waits to reconnect), so a shutdown never awaits one without a deadline.
 */
export async function closeConnection(redis: Redis, deadline: Deadline): Promise<boolean> {
  const quit = redis.status === 'ready' && (await deadline.settle(redis.quit())).ok;
  if (redis.status !== 'end') redis.disconnect();
  return quit;
}

/** Query parameters that may carry a secret (ioredis reads options such as `?password=` from the URL). */
const SECRET_PARAM = /pass|auth|token|secret|key|cred/i;

/** The URL with its password, and any query parameter that may hold one, replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (SECRET_PARAM.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return '<unparseable redis url>';
  }
}

/** Resolves once the server answers PING, or rejects with a short reason after `timeoutMs`. */
export async function ping(url: string, timeoutMs = 3000): Promise<void> {
  const r = new Redis(url, {
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  // ioredis reports the server's reason (WRONGPASS, NOAUTH, a TLS certificate error) as an
  // 'error' event and then rejects with a bare "Connection is closed": keep the reason.
  let reason: Error | undefined;
  r.on('error', (err: Error) => (reason ??= err));
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    throw reason && err instanceof Error && /Connection is closed/.test(err.message) ? reason : err;
  } finally {
    r.disconnect();
  }
}
