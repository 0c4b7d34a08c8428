/**
 * A Redis that evicts keys (issue 14, finding 6: `allkeys-lru` was accepted with only BullMQ's
 * warning, though eviction loses jobs): `ipa submit` and `ipa worker` refuse it with the reason,
 * exit code 4, before writing anything; --allow-eviction is the explicit override.
 */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../orchestrator/queue/connection.js';
import { LocalRedis } from '../../orchestrator/queue/local-redis.js';
import { checkEvictionPolicy, evictionPolicy } from '../../orchestrator/queue/redis-policy.js';
import { REPO, tinyRecipe } from '../helpers/harness.js';
import { uniquePrefix } from '../helpers/redis.js';
import { ipa, STACK_FRAME } from './cli-process.js';

describe('Redis that may evict keys', () => {
  let redis: LocalRedis;
  beforeAll(async () => {
    redis = await LocalRedis.start({ maxmemoryPolicy: 'allkeys-lru' });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('reads the policy and refuses anything but noeviction unless allowed', async () => {
    const conn = connect(redis.url);
    try {
      expect(await evictionPolicy(conn)).toBe('allkeys-lru');
      await expect(checkEvictionPolicy(conn)).rejects.toThrow(
        /maxmemory-policy allkeys-lru.*BullMQ would lose queued jobs.*--allow-eviction/,
      );
      await expect(checkEvictionPolicy(conn)).rejects.toMatchObject({ exitCode: 4 });
      expect(await checkEvictionPolicy(conn, { allow: true })).toBe('allkeys-lru');
    } finally {
      await conn.quit();
    }
  });

  it('ipa submit and ipa worker refuse it with the reason and exit code 4; --allow-eviction goes ahead', async () => {
    const work = mkdtempSync(join(tmpdir(), 'ipa-evict-'));
    const prefix = uniquePrefix('evict');
    // Inside the repository, like the harness's recipes: the tiny model is then an allowed path.
    const recipeFile = join(REPO, '.cache', `${prefix}.yaml`);
    writeFileSync(recipeFile, stringify({ ...tinyRecipe(), runs_dir: join(work, 'runs'), allowed_roots: [work] }));
    for (const argv of [
      ['submit', recipeFile],
      ['worker', '--queues', 'control'],
    ]) {
      const r = await ipa([...argv, '--redis-url', redis.url, '--prefix', prefix]);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(
        new RegExp(`^ipa ${argv[0]}: Redis evicts keys under memory pressure \\(maxmemory-policy allkeys-lru\\)`),
      );
      expect(r.stderr).toContain('--allow-eviction');
      expect(r.stdout + r.stderr).not.toMatch(STACK_FRAME);
    }
    expect(existsSync(join(work, 'runs'))).toBe(false); // refused before the run directory was made
    const ok = await ipa(['submit', recipeFile, '--redis-url', redis.url, '--prefix', prefix, '--allow-eviction']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readdirSync(join(work, 'runs'))).toEqual([ok.stdout.trim()]);
  }, 120_000);
});
