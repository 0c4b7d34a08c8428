/**
 * The exact command that continues a stopped run, as `ipa run`, `ipa status`, `ipa watch`,
 * `ipa verify` and `ipa resume` print it: `ipa run`, which needs no Redis of one's own (a private
 * one and an in-process worker); `ipa resume` re-queues on a shared Redis for `ipa worker`s.
 */
import { redactUrl } from '../queue/connection.js';
import { lookupRun } from '../store/run-lookup.js';
import { registeredRuns } from '../store/run-registry.js';
import type { RunStore } from '../store/run-store.js';

/** `ipa run <id>` when the id alone finds this run again, else `ipa run <dir>`; plus the Redis it used, if one was given. */
export function continueCommand(store: RunStore, runsDir: string, redisUrl?: string): string {
  const found = lookupRun(runsDir, store.id, registeredRuns());
  const ref = found.kind === 'found' && found.store.dir === store.dir ? store.id : store.dir;
  return `ipa run ${ref}${redisUrl ? ` --redis-url ${redactUrl(redisUrl)}` : ''}`;
}

/** What computes a run's damaged outputs again (`ipa verify`, `ipa status`). */
export function repairAdvice(store: RunStore, runsDir: string): string {
  return `\`${continueCommand(store, runsDir)}\` computes the damaged outputs, and what was made from them, again (for workers on a shared Redis: \`ipa resume ${store.id} --redis-url URL\`)`;
}
