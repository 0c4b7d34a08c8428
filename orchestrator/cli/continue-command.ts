/** The exact command that continues a stopped run, as `ipa run`, `ipa status` and `ipa watch` print it. */
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
