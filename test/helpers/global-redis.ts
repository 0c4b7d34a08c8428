/**
 * Starts one throwaway redis-server for the whole test run unless REDIS_URL is set; tests
 * isolate themselves with a unique queue prefix (see `uniquePrefix`) and delete their keys.
 */
import { LocalRedis } from '../../orchestrator/queue/local-redis.js';

let local: LocalRedis | undefined;

export async function setup(): Promise<void> {
  if (process.env.REDIS_URL) return;
  local = await LocalRedis.start();
  process.env.REDIS_URL = local.url;
  process.env.IPA_TEST_REDIS_STARTED = '1';
}

export async function teardown(): Promise<void> {
  await local?.stop();
}
