/**
 * bull-board at /queues is read-only unless the operator turns admin actions on (issue 14,
 * finding 1: it accepted "add a job with any data and id", "edit a job's data" and "obliterate a
 * queue" from anyone reaching the loopback dashboard). With --queue-admin a token is required,
 * loopback included.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DashboardConfigError } from '../../orchestrator/dashboard/auth.js';
import { startDashboard, type Dashboard } from '../../orchestrator/dashboard/server.js';
import { QueueSet } from '../../orchestrator/queue/queues.js';
import { deletePrefix, redisUrl, testConnection, uniquePrefix } from '../helpers/redis.js';
import { fakeRun, type FakeRun } from './fixture.js';

const TOKEN = 'board-token-9a8b7c6d5e4f';

describe('queue board', () => {
  let run: FakeRun;
  const prefix = uniquePrefix('board');
  const conn = testConnection();
  const queues = new QueueSet(conn, prefix);
  const open: Dashboard[] = [];
  const start = async (o: { token?: string; queueAdmin?: boolean } = {}) => {
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, runsDir: run.runsDir, ...o });
    open.push(d);
    return d;
  };
  const call = (d: Dashboard, method: string, path: string, body?: unknown, token?: string) =>
    fetch(new URL(path, d.url), {
      method,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  beforeAll(async () => {
    run = fakeRun();
    await queues
      .queue('control')
      .add(
        'victim',
        { runId: 'r', runDir: '/tmp/r', round: 0, stage: 'advance', shard: 0 },
        { jobId: 'victim', delay: 3_600_000 },
      );
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });
  afterAll(async () => {
    await queues.close();
    await deletePrefix(conn, prefix);
    await conn.quit();
  });

  it('read-only by default: adding, editing, retrying, removing and obliterating are refused; reading works', async () => {
    const d = await start();
    const writes: Array<[string, string, unknown]> = [
      [
        'POST',
        '/queues/api/queues/control/add',
        { name: '../../../../tmp/x/PWNED', data: { runDir: '/tmp/x' }, options: { jobId: '../../../../tmp/x/PWNED' } },
      ],
      ['PATCH', '/queues/api/queues/control/victim/update-data', { jobData: { runDir: '/etc' } }],
      ['PUT', '/queues/api/queues/control/obliterate', {}],
      ['PUT', '/queues/api/queues/control/retry/failed', {}],
      ['PUT', '/queues/api/queues/control/victim/clean', {}],
      ['PUT', '/queues/api/queues/control/empty', {}],
      ['PUT', '/queues/api/queues/pause', {}],
    ];
    for (const [method, path, body] of writes) {
      const res = await call(d, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(405);
    }
    const job = await queues.queue('control').getJob('victim');
    expect(job?.data.runDir).toBe('/tmp/r');
    expect(await queues.queue('control').getJob('../../../../tmp/x/PWNED')).toBeUndefined();
    expect(await queues.queue('control').count()).toBe(1);
    expect((await call(d, 'GET', '/queues/api/queues')).status).toBe(200);
  });

  it('admin actions need a token, even on loopback; with it, they work for the token holder only', async () => {
    await expect(start({ queueAdmin: true })).rejects.toThrow(DashboardConfigError);
    await expect(start({ queueAdmin: true })).rejects.toThrow(/--queue-admin .* needs a token, even on loopback/);
    const d = await start({ queueAdmin: true, token: TOKEN });
    const edit = { jobData: { runId: 'r', runDir: '/tmp/r2', round: 0, stage: 'advance', shard: 0 } };
    expect((await call(d, 'PATCH', '/queues/api/queues/control/victim/update-data', edit)).status).toBe(401);
    expect((await call(d, 'PATCH', '/queues/api/queues/control/victim/update-data', edit, TOKEN)).status).toBe(200);
    expect((await queues.queue('control').getJob('victim'))?.data.runDir).toBe('/tmp/r2');
  });
});
