/**
 * Redis with a password: the CLI and a worker agent work with `redis://:pw@host:port`; a wrong
 * password is exit code 4 with a readable reason, and the password never appears in the output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerAgent } from '../../orchestrator/agent/agent.js';
import { redactUrl } from '../../orchestrator/queue/connection.js';
import { LocalRedis } from '../../orchestrator/queue/local-redis.js';
import { uniquePrefix } from '../helpers/redis.js';
import { ipa, STACK_FRAME } from './cli-process.js';

// Characters that must survive URL encoding and must not leak in either form.
const PASSWORD = 'pa:ss@w/rd%42-"se\\cret"';

describe('Redis with a password', () => {
  let redis: LocalRedis;
  beforeAll(async () => {
    redis = await LocalRedis.start({ password: PASSWORD });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('`ipa workers` connects with the password in the URL and lists a connected agent', async () => {
    const prefix = uniquePrefix('auth');
    // A control-only agent starts no Python process: this checks the Redis side alone.
    const agent = await WorkerAgent.start({ redisUrl: redis.url, prefix, queues: ['control'] });
    try {
      const r = await ipa(['workers', '--redis-url', redis.url, '--prefix', prefix, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).map((w: { id: string }) => w.id)).toEqual([agent.id]);
    } finally {
      await agent.close(1000);
    }
  });

  it.each([
    ['wrong password', (port: number) => `redis://:not-${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`],
    ['no password', (port: number) => `redis://127.0.0.1:${port}`],
  ])('%s: exit code 4, a readable reason, no stack trace, the password redacted', async (_name, url) => {
    for (const cmd of [['workers'], ['worker', '--queues', 'control']]) {
      const r = await ipa([...cmd, '--redis-url', url(redis.port)]);
      const out = r.stdout + r.stderr;
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(
        /^ipa workers?: cannot reach Redis at redis:\/\/(:\*\*\*@)?127\.0\.0\.1:\d+\/?: (WRONGPASS|NOAUTH)/,
      );
      expect(out).not.toMatch(STACK_FRAME);
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain(encodeURIComponent(PASSWORD));
    }
  });

  it('a password given as ?password= is redacted too (issue 14, finding 6)', async () => {
    const url = `redis://127.0.0.1:${redis.port}/?password=not-${encodeURIComponent(PASSWORD)}&db=0`;
    expect(redactUrl(url)).toBe(`redis://127.0.0.1:${redis.port}/?password=***&db=0`);
    expect(redactUrl('rediss://u:pw@h:1/?auth=x&sentinelPassword=y&family=4')).toBe(
      'rediss://u:***@h:1/?auth=***&sentinelPassword=***&family=4',
    );
    const r = await ipa(['workers', '--redis-url', url]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/\?password=\*\*\*&db=0: WRONGPASS/);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    expect(r.stdout + r.stderr).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('the password reaches redis-server through its stdin: it is on no command line (any user of the host reads those in /proc)', async () => {
    const args = (redis as unknown as { proc: { spawnargs: string[] } }).proc.spawnargs;
    expect(args[0]).toBe('redis-server');
    expect(args.join(' ')).not.toContain(PASSWORD);
    expect(args).not.toContain('--requirepass');
  });
});
