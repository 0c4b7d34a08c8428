import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishWorker, type WorkerInfo } from '../../orchestrator/agent/registry.js';
import { startDashboard, type Dashboard } from '../../orchestrator/dashboard/server.js';
import { errorBlocks } from '../../orchestrator/dashboard/run-files.js';
import type { RunSnapshot, RunListEntry } from '../../orchestrator/dashboard/snapshot.js';
import { roundResults } from '../../orchestrator/report/results.js';
import { QUEUE_KINDS } from '../../orchestrator/plan/stages.js';
import { buildManifest } from '../../orchestrator/store/manifest.js';
import type { Redis } from 'ioredis';
import { deletePrefix, redisUrl, testConnection, uniquePrefix } from '../helpers/redis.js';
import { fakeRun, type FakeRun } from './fixture.js';
import { SseClient } from './sse-client.js';

/** Compares as JSON does: the API's numbers after a round trip, undefined fields dropped. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('dashboard API', () => {
  let run: FakeRun;
  let dash: Dashboard;
  let redis: Redis;
  const prefix = uniquePrefix('dash-api');
  const worker: WorkerInfo = {
    id: 'host-a.123.g0',
    host: 'host-a',
    pid: 123,
    queues: ['sample', 'verify'],
    gpu: '0',
    concurrency: 1,
    devices: [{ kind: 'cuda', index: 0 }],
    backends: ['hf'],
    versions: {},
    started_at: new Date().toISOString(),
    heartbeat_at: new Date().toISOString(),
    current: [
      {
        job_id: 'dash-run-0001.r1.sample.s001',
        stage: 'sample',
        run: 'dash-run-0001',
        round: 1,
        shard: 1,
        started_at: new Date().toISOString(),
      },
    ],
  };

  beforeAll(async () => {
    run = fakeRun();
    // Into round 1: its verify shard 0 failed once (traceback in the log), training not yet run.
    run.stepUntil((s) => s.doneIds().has(`${s.id}.r1.pair.s000`));
    redis = testConnection();
    await publishWorker(redis, prefix, worker);
    dash = await startDashboard({ redisUrl: redisUrl(), prefix, runsDir: run.runsDir, pollMs: 200 });
  });

  afterAll(async () => {
    await dash?.close();
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(new URL(path, dash.url));
    return { status: res.status, body: (await res.json()) as T };
  };

  it('binds loopback on an ephemeral port by default', () => {
    expect(dash.url).toBe(`http://127.0.0.1:${dash.port}/`);
    expect(dash.port).toBeGreaterThan(0);
  });

  it('/api/runs lists the run with the manifest totals as progress', async () => {
    const { status, body } = await get<RunListEntry[]>('/api/runs');
    expect(status).toBe(200);
    const m = buildManifest(run.store);
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({
      id: run.store.id,
      state: 'running',
      progress: { done: m.totals.done, jobs: m.totals.jobs },
    });
  });

  it('/api/runs/:id equals buildManifest and roundResults, with curves, eval and errors from the run dir', async () => {
    run.stepUntil((s) => s.doneIds().has(`${s.id}.r1.eval.s000`));
    const { status, body } = await get<RunSnapshot>(`/api/runs/${run.store.id}`);
    expect(status).toBe(200);
    const m = buildManifest(run.store);
    expect(body.manifest).toEqual(plain(m));
    expect(body.results).toEqual(plain(roundResults(run.store)));
    expect(body.progress).toEqual({
      done: m.totals.done,
      jobs: m.totals.jobs,
      fraction: m.totals.done / m.totals.jobs,
    });

    const r1 = body.results[1];
    expect(r1).toMatchObject({
      seeds: 10,
      responses_normal: 20,
      responses_contrastive: 20,
      pairs: 23,
      challenging: 4,
      reward_accuracy_train: 0.7,
    });
    expect(r1.pass_rate).toBeCloseTo(26 / 40);
    const verify = body.manifest.rounds[1].stages.find((s) => s.stage === 'verify');
    expect(verify).toMatchObject({ jobs: 3, done: 3, attempts: 4 });

    expect(body.curves.map((c) => [c.round, c.model, c.points.length])).toEqual([
      [1, 'policy', 6],
      [1, 'reviser', 6],
    ]);
    expect(body.curves[0].points[5]).toMatchObject({
      step: 6,
      margins: expect.closeTo(0.6, 6),
      accuracies: expect.closeTo(0.98, 6),
    });
    expect(body.eval.map((e) => [e.round, e.overall, e.n])).toEqual([
      [0, 0.4, 8],
      [1, 0.45, 8],
    ]);
    expect(body.eval[1].by_benchmark).toEqual({ synthetic: 0.45, pope: 0.81 });
    // Benchmarks baseline → final from both backends, and the paper's POPE beside ours (F1 × 100).
    expect(body.benchmarks.map((b) => [b.benchmark, b.backend, b.metric, b.baseline, b.final, b.shown.change])).toEqual(
      [
        ['synthetic', 'builtin', 'accuracy', 0.4, 0.45, '+5.0 pt'],
        ['pope', 'lmms_eval', 'pope_accuracy', 0.8, 0.81, '+0.01'],
      ],
    );
    expect(body.paper?.find((p) => p.benchmark === 'POPE')).toMatchObject({
      paper_baseline: 86.2,
      paper_ipa: 87.2,
      ours_baseline: expect.closeTo(79, 6),
      ours_final: expect.closeTo(80, 6),
      ours_final_round: 1,
    });

    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].job_id).toBe(`${run.store.id}.r1.verify.s000`);
    expect(body.errors[0].headline).toBe('Internal: CUDA error: device-side assert triggered');
    expect(body.errors[0].text).toContain('Traceback (most recent call last):');
    expect(body.errors[0].text.split('\n').at(-1)).toBe('RuntimeError: CUDA error: device-side assert triggered');
  });

  it('finds a run by unique id prefix but never outside the runs directory', async () => {
    expect((await get<RunSnapshot>(`/api/runs/${run.store.id.slice(0, 8)}`)).body.run.id).toBe(run.store.id);
    expect((await get('/api/runs/nope')).status).toBe(404);
    expect((await get(`/api/runs/${encodeURIComponent('../' + run.store.id)}`)).status).toBe(404);
    expect((await get(`/api/runs/${encodeURIComponent(run.store.dir)}`)).status).toBe(404);
  });

  it('/api/workers lists connected workers and their current jobs', async () => {
    const { body } = await get<WorkerInfo[]>('/api/workers');
    expect(body).toEqual([worker]);
  });

  it('mounts bull-board with every queue of the QueueSet', async () => {
    const res = await fetch(new URL('/queues/api/queues', dash.url));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual([...QUEUE_KINDS].sort());
    const page = await fetch(new URL('/queues', dash.url));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
  });

  it('serves the page self-contained, with a CSP that allows nothing off this server', async () => {
    const res = await fetch(dash.url);
    const html = await res.text();
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).toContain('data-testid="runs"');
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="(https?:)?\/\//);
  });

  it('SSE pushes a new snapshot after a done record is written', async () => {
    const sse = await SseClient.open(new URL(`/api/events?run=${run.store.id}`, dash.url).href);
    try {
      expect(sse.status).toBe(200);
      const first = await sse.next<RunSnapshot>('snapshot');
      expect(first.progress.done).toBe(buildManifest(run.store).totals.done);
      const workers = await sse.next<WorkerInfo[]>('workers');
      expect(workers.map((w) => w.id)).toEqual([worker.id]);

      const before = first.progress.done;
      expect(run.step()).toBe(true);
      const next = await sse.next<RunSnapshot>('snapshot', (s) => s.progress.done > before, 5000);
      expect(next.progress.done).toBe(before + 1);
      expect(next.manifest).toEqual(plain(buildManifest(run.store)));
      const runs = await sse.next<RunListEntry[]>('runs', (rs) => rs[0]?.progress.done === before + 1, 5000);
      expect(runs[0].id).toBe(run.store.id);
    } finally {
      sse.close();
    }
  });
});

describe('error blocks from job logs', () => {
  it('keeps the traceback with its headline, and chained tracebacks together', () => {
    const log = [
      'INFO start',
      'OutOfMemory: CUDA out of memory',
      'Traceback (most recent call last):',
      '  File "a.py", line 1, in f',
      '    g()',
      'KeyError: 1',
      '',
      'During handling of the above exception, another exception occurred:',
      '',
      'Traceback (most recent call last):',
      '  File "b.py", line 2, in h',
      'torch.OutOfMemoryError: CUDA out of memory',
      'INFO retrying',
      '2026-01-01 12:00:00 ERROR verifier crashed',
    ].join('\n');
    const blocks = errorBlocks(log);
    expect(blocks).toHaveLength(2);
    expect(blocks[0].split('\n')[0]).toBe('OutOfMemory: CUDA out of memory');
    expect(blocks[0].split('\n').at(-1)).toBe('torch.OutOfMemoryError: CUDA out of memory');
    expect(blocks[0]).toContain('During handling of the above exception');
    expect(blocks[1]).toBe('2026-01-01 12:00:00 ERROR verifier crashed');
  });
});
