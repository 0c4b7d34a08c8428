/**
 * Starts one throwaway redis-server for the whole test run unless REDIS_URL is set; tests
 * isolate themselves with a unique queue prefix (see `uniquePrefix`) and delete their keys.
 * The per-user run registry goes to a temp folder, so tests never touch the user's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRedis } from '../../orchestrator/queue/local-redis.js';

let local: LocalRedis | undefined;
let stateDir: string | undefined;

export async function setup(): Promise<void> {
  stateDir = mkdtempSync(join(tmpdir(), 'ipa-state-'));
  process.env.IPA_STATE_DIR = stateDir;
  if (process.env.REDIS_URL) return;
  local = await LocalRedis.start();
  process.env.REDIS_URL = local.url;
  process.env.IPA_TEST_REDIS_STARTED = '1';
}

export async function teardown(): Promise<void> {
  await local?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}
