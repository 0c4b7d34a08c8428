/**
 * The dashboard on run folders alone: with no Redis (a finished `make demo` whose private Redis is
 * gone) it starts, lists and shows runs, shows running jobs from their progress files, and says
 * the queue is not connected instead of refusing to start.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../orchestrator/dashboard/server.js';
import type { RunListEntry, RunSnapshot } from '../../orchestrator/dashboard/snapshot.js';
import { atomicWriteJson } from '../../orchestrator/store/atomic.js';
import { REPO } from '../helpers/harness.js';
import { fakeRun, type FakeRun } from './fixture.js';

describe('dashboard without a queue', () => {
  let run: FakeRun;
  let dash: Dashboard;

  beforeAll(async () => {
    run = fakeRun();
    run.stepUntil((s) => s.doneIds().has(`${s.id}.r1.pair.s000`));
    dash = await startDashboard({
      prefix: 'unused',
      runsDir: run.runsDir,
      pollMs: 200,
      noQueueReason: 'cannot reach Redis at redis://127.0.0.1:1',
    });
  });
  afterAll(async () => {
    await dash?.close();
    rmSync(run.root, { recursive: true, force: true });
  });

  const get = async (path: string) => fetch(new URL(path, dash.url));

  it('lists and shows runs from their folders, and says why there are no workers or queues', async () => {
    const list = (await (await get('/api/runs')).json()) as RunListEntry[];
    expect(list.map((r) => r.id)).toEqual([run.store.id]);
    const snap = (await (await get(`/api/runs/${run.store.id}`)).json()) as RunSnapshot;
    expect(snap.manifest.run.id).toBe(run.store.id);
    expect(await (await get('/api/queue')).json()).toEqual({
      connected: false,
      reason: 'cannot reach Redis at redis://127.0.0.1:1',
    });
    expect(await (await get('/api/workers')).json()).toEqual([]);
    const board = await get('/queues');
    expect(board.status).toBe(503);
    expect(await board.text()).toContain('the queue is not connected (cannot reach Redis at redis://127.0.0.1:1)');
  });

  it("shows a running job's step, loss and estimate from its progress file", async () => {
    const job = `${run.store.id}.r1.train.s000`;
    const now = Date.now();
    atomicWriteJson(join(run.store.dir, 'progress', `${job}.json`), {
      job_id: job,
      worker: 'gpu-7',
      attempt: 1,
      started_at: new Date(now - 65_000).toISOString(),
      updated_at: new Date(now).toISOString(),
      reported_at: new Date(now).toISOString(),
      done: 264,
      total: 992,
      metrics: { phase: 'policy DPO', loss: 0.115 },
      eta_ms: 600_000,
    });
    const snap = (await (await get(`/api/runs/${run.store.id}`)).json()) as RunSnapshot;
    expect(snap.running).toHaveLength(1);
    expect(snap.running[0]).toMatchObject({ job_id: job, stage: 'train', done: 264, total: 992, phase: 'policy DPO' });
    expect(snap.running[0].words).toMatch(
      /^policy DPO 264\/992, loss 0\.115, ~(10m00s|9m59s) left \(1m0\ds, worker gpu-7\)$/,
    );
  });

  it('`ipa dashboard` starts without a reachable Redis and serves the runs (it used to refuse with exit 4)', async () => {
    const c = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO, 'orchestrator', 'cli', 'main.ts'),
        'dashboard',
        '--port',
        '0',
        '--redis-url',
        'redis://127.0.0.1:1',
        '--runs-dir',
        run.runsDir,
      ],
      { cwd: REPO },
    );
    let out = '';
    c.stderr.on('data', (b) => (out += String(b)));
    const exited = new Promise<number | null>((res) => c.once('exit', (code) => res(code)));
    const url = await new Promise<string>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no dashboard line: ${out}`)), 60_000);
      c.stdout.on('data', (b) => {
        out += String(b);
        const m = /dashboard: (\S+)/.exec(out);
        if (m && out.includes('queues:    not connected')) res((clearTimeout(t), m[1]));
      });
      void exited.then(() => rej(new Error(`exited: ${out}`)));
    });
    expect(out).toContain('queues:    not connected (cannot reach Redis at redis://127.0.0.1:1');
    const list = (await (await fetch(new URL('api/runs', url))).json()) as RunListEntry[];
    expect(list.map((r) => r.id)).toEqual([run.store.id]);
    c.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 90_000);
});
