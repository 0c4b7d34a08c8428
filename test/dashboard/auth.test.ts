import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../orchestrator/cli/main.js';
import { ExitCode } from '../../orchestrator/cli/command.js';
import { DashboardConfigError, isLoopback, safeEqual, SESSION_COOKIE } from '../../orchestrator/dashboard/auth.js';
import { startDashboard, type Dashboard } from '../../orchestrator/dashboard/server.js';
import { redisUrl, uniquePrefix } from '../helpers/redis.js';
import { fakeRun, type FakeRun } from './fixture.js';

const TOKEN = 'dash-token-5f1c9a7e3b2d4c6a';

/** Raw request: fetch refuses to set Host, which the DNS-rebinding check looks at. */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard auth', () => {
  let run: FakeRun;
  const prefix = uniquePrefix('dash-auth');
  const open: Dashboard[] = [];
  const start = async (o: { host?: string; token?: string }) => {
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, runsDir: run.runsDir, ...o });
    open.push(d);
    return d;
  };

  beforeAll(() => {
    run = fakeRun();
    run.step();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });

  it('refuses to start beyond loopback without a token, with a clear error', async () => {
    await expect(start({ host: '0.0.0.0' })).rejects.toThrow(DashboardConfigError);
    await expect(start({ host: '0.0.0.0' })).rejects.toThrow(/without a token.*--token.*IPA_DASHBOARD_TOKEN/s);
    await expect(start({ host: '0.0.0.0', token: '  ' })).rejects.toThrow(/token is empty/);
  });

  it('bound to 0.0.0.0 with a token: refuses requests without it, accepts it as Bearer, ?token= once, then the cookie', async () => {
    const d = await start({ host: '0.0.0.0', token: TOKEN });
    const base = `http://127.0.0.1:${d.port}`;
    for (const path of [
      '/',
      '/api/runs',
      `/api/runs/${run.store.id}`,
      '/api/workers',
      '/api/events',
      '/queues',
      '/queues/api/queues',
    ]) {
      expect((await fetch(base + path)).status, path).toBe(401);
    }
    expect((await fetch(`${base}/api/runs`, { headers: { Authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect(
      (await fetch(`${base}/api/runs`, { headers: { Authorization: `Bearer ${TOKEN.slice(0, -1)}` } })).status,
    ).toBe(401);
    expect((await fetch(`${base}/api/runs?token=wrong`)).status).toBe(401);

    const bearer = await fetch(`${base}/api/runs`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(((await bearer.json()) as Array<{ id: string }>)[0].id).toBe(run.store.id);
    expect((await fetch(`${base}/queues/api/queues`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(
      200,
    );

    const once = await fetch(`${base}/?token=${TOKEN}`);
    expect(once.status).toBe(200);
    const setCookie = once.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(';')[0];
    expect((await fetch(`${base}/api/runs`, { headers: { Cookie: cookie } })).status).toBe(200);
    expect((await fetch(`${base}/api/runs`, { headers: { Cookie: `${SESSION_COOKIE}=forged` } })).status).toBe(401);
    expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);
  });

  it('on loopback a given token is still enforced', async () => {
    const d = await start({ token: TOKEN });
    expect((await fetch(new URL('/api/runs', d.url))).status).toBe(401);
    expect((await fetch(new URL('/api/runs', d.url), { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(
      200,
    );
  });

  it('on loopback without a token: open to this machine, closed to DNS rebinding and cross-site POSTs', async () => {
    const d = await start({});
    expect((await fetch(new URL('/api/runs', d.url))).status).toBe(200);
    expect((await raw(new URL('/api/runs', d.url).href, { headers: { Host: `localhost:${d.port}` } })).status).toBe(
      200,
    );
    expect((await raw(new URL('/api/runs', d.url).href, { headers: { Host: `evil.example:${d.port}` } })).status).toBe(
      403,
    );
    const retry = new URL('/queues/api/queues/sample/retry/failed', d.url).href;
    expect((await raw(retry, { method: 'PUT', headers: { Origin: 'https://evil.example' } })).status).toBe(403);
    expect((await raw(retry, { method: 'PUT', headers: { Origin: `http://127.0.0.1:${d.port}` } })).status).not.toBe(
      403,
    );
  });

  it('`ipa dashboard --host 0.0.0.0` without a token exits with a usage error and says why', async () => {
    const saved = process.env.IPA_DASHBOARD_TOKEN;
    delete process.env.IPA_DASHBOARD_TOKEN;
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const code = await main([
        'dashboard',
        '--host',
        '0.0.0.0',
        '--port',
        '0',
        '--runs-dir',
        run.runsDir,
        '--prefix',
        prefix,
      ]);
      expect(code).toBe(ExitCode.usage);
      expect(err.mock.calls.flat().join('\n')).toMatch(
        /ipa dashboard: refusing to serve the dashboard on 0\.0\.0\.0 without a token/,
      );
    } finally {
      err.mockRestore();
      if (saved !== undefined) process.env.IPA_DASHBOARD_TOKEN = saved;
    }
  });

  it('helpers: constant-time compare and loopback detection', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'example.com', '128.0.0.1']) expect(isLoopback(h), h).toBe(false);
  });

  afterAll(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });
});
