/**
 * Issue 25, finding 5: a burst of 100 new event streams (the cap) while every run keeps
 * changing. Each new page is greeted with the run list and a snapshot; pages arriving together
 * share one build of each (single flight), so `/api/runs` answers within 5× its idle time
 * (measured here, in the same conditions without the burst), and the burst costs a handful of
 * builds, not one per page. A stream whose reader falls behind is closed, so memory per stream
 * stays bounded.
 */
import { EventEmitter } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunCache } from '../../orchestrator/dashboard/run-cache.js';
import { startDashboard, type Dashboard } from '../../orchestrator/dashboard/server.js';
import { EventHub } from '../../orchestrator/dashboard/sse.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { redisUrl, uniquePrefix } from '../helpers/redis.js';
import { fakeRun } from './fixture.js';

const RUNS = 12;
const PAGES = 100;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A page's event stream that reads without parsing (the test process shares its event loop with
 * the server: parsing 100 snapshots here would be counted against the server). Resolves with the
 * status once headers arrive; `greeted` resolves once the snapshot event has come.
 */
function openStream(url: string): Promise<{ status: number; greeted: Promise<void>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { Accept: 'text/event-stream' } }, (res: IncomingMessage) => {
      let seen = '';
      const greeted = new Promise<void>((done) => {
        res.on('data', (chunk: Buffer) => {
          if (seen !== 'yes') {
            seen = (seen + chunk.toString('latin1')).slice(-64);
            if (chunk.includes('event: snapshot')) seen = 'yes';
            if (seen === 'yes') done();
          }
        });
      });
      res.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, greeted, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

describe('dashboard: a burst of new event streams', () => {
  let dash: Dashboard;
  let runsDir: string;
  const stores: RunStore[] = [];

  beforeAll(async () => {
    const first = fakeRun({ id: 'burst-00' });
    runsDir = first.runsDir;
    stores.push(first.store);
    first.stepUntil((s) => s.doneIds().size >= 14);
    for (let i = 1; i < RUNS; i++) {
      const r = fakeRun({ id: `burst-${String(i).padStart(2, '0')}`, runsDir: first.runsDir });
      r.stepUntil((s) => s.doneIds().size >= 14);
      stores.push(r.store);
    }
    // Polls far apart: what is measured is the greeting of new pages, not the periodic poll.
    dash = await startDashboard({
      redisUrl: redisUrl(),
      prefix: uniquePrefix('dash-burst'),
      runsDir: first.runsDir,
      pollMs: 60_000,
      maxSseClients: PAGES,
    });
  }, 120_000);
  afterAll(async () => {
    await dash?.close();
  });

  /** Every run changes (a log line each), so the next read of each misses the cache. */
  const changeEveryRun = () => stores.forEach((s) => s.appendLog(`${s.id}.r1.sample.s000`, `tick ${Date.now()}`));
  const timeRuns = async (): Promise<number> => {
    const t = performance.now();
    const res = await fetch(new URL('/api/runs', dash.url));
    expect(res.status).toBe(200);
    expect(((await res.json()) as unknown[]).length).toBe(RUNS);
    return performance.now() - t;
  };

  it(`/api/runs stays within 5× its idle time while ${PAGES} new streams open at once`, async () => {
    await timeRuns(); // warm up the server and the modules it loads
    const idle: number[] = [];
    for (let i = 0; i < 5; i++) {
      changeEveryRun();
      idle.push(await timeRuns());
    }

    changeEveryRun();
    const builds = dash.stats().builds;
    const rss = process.memoryUsage().rss;
    const url = new URL(`/api/events?run=${stores[0].id}`, dash.url).href;
    // The runs are live: their files keep changing while the pages open (a log line every 20 ms),
    // so fingerprints taken a moment apart differ and a cache alone does not help.
    const live = setInterval(changeEveryRun, 20);
    const opening = Promise.all(Array.from({ length: PAGES }, () => openStream(url)));
    const during: number[] = [];
    for (let i = 0; i < 3; i++) during.push(await timeRuns());
    const pages = await opening;
    try {
      expect(pages.map((p) => p.status)).toEqual(Array(PAGES).fill(200));
      await Promise.all(pages.map((p) => p.greeted));
      clearInterval(live);
      const cost = dash.stats().builds - builds;
      const ratio = Math.max(...during) / median(idle);
      console.log(
        `[dashboard burst] ${RUNS} runs, ${PAGES} new streams: /api/runs idle median ${median(idle).toFixed(1)} ms (${idle.map((x) => x.toFixed(0)).join(', ')}), ` +
          `during the burst ${during.map((x) => x.toFixed(0)).join(', ')} ms (worst ${ratio.toFixed(2)}× idle); ` +
          `${cost} snapshot/list builds for the burst; test process RSS ${(rss / 2 ** 20).toFixed(0)} → ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
      );
      // Builds come in shared flights (a list entry per run and a snapshot each), not one per page.
      expect(cost).toBeLessThan((PAGES * (RUNS + 1)) / 4);
      expect(ratio).toBeLessThanOrEqual(5);
    } finally {
      clearInterval(live);
      pages.forEach((p) => p.close());
    }
  }, 120_000);

  it('simultaneous cache misses share one build', async () => {
    const cache = new RunCache(runsDir);
    const [a, b, c] = await Promise.all([
      cache.snapshotJson(stores[1].id),
      cache.snapshotJson(stores[1].id),
      cache.snapshotJson(stores[1].id),
    ]);
    expect(cache.builds).toBe(1);
    expect(a!.json).toBe(b!.json);
    expect(c!.json).toBe(a!.json);
    await Promise.all([cache.list(), cache.list(), cache.list()]);
    expect(cache.builds).toBe(1 + RUNS);
  });
});

describe('dashboard: memory per stream is bounded', () => {
  /** A stream whose reader never reads: its unsent bytes only grow. */
  function stalledStream() {
    const req = Object.assign(new EventEmitter(), { query: { run: 'r' } }) as unknown as Request;
    const sent: string[] = [];
    const res = {
      writableLength: 0,
      status: () => res,
      set: () => res,
      json: () => res,
      flushHeaders: () => undefined,
      write(text: string) {
        sent.push(text);
        res.writableLength += Buffer.byteLength(text);
        return false;
      },
      ended: false,
      end() {
        res.ended = true;
      },
    };
    return { req, res, sent };
  }

  it('a stream that would hold more than maxBufferBytes of unsent text is closed, the others go on', async () => {
    const big = JSON.stringify({ blob: 'x'.repeat(600 * 1024) });
    const cache = { list: async () => [], snapshotJson: async () => ({ id: 'r', json: big }) } as unknown as RunCache;
    const hub = new EventHub({ cache, workers: async () => [], pollMs: 60_000, maxBufferBytes: 1024 * 1024 });
    const stalled = stalledStream();
    hub.handler(stalled.req, stalled.res as unknown as Response, () => undefined);
    await new Promise((r) => setTimeout(r, 50));
    // The greeting (runs, a 600 kB snapshot, workers) fits; it is now 600 kB behind.
    expect(stalled.res.ended).toBe(false);
    expect(hub.connections).toBe(1);
    // A second large snapshot would put 1.2 MB in its buffer: closed instead of growing.
    (hub as unknown as { broadcast: (t: string, to: () => boolean) => void }).broadcast(
      `event: snapshot\ndata: ${big}\n\n`,
      () => true,
    );
    expect(stalled.res.ended).toBe(true);
    expect(hub.connections).toBe(0);
    expect(hub.dropped).toBe(1);
    expect(stalled.res.writableLength).toBeLessThan(1024 * 1024);
    hub.close();
  });
});
