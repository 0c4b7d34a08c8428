/**
 * Dashboard under load (issue 14, finding 2): `/api/runs` latency with many live pages open vs
 * with none, the same runs, the same dashboard, measured in one process side by side. Runs are
 * fabricated run directories (test/dashboard/fixture.ts); a few of them take a step every 250 ms
 * in both phases, so live pages have changes to be sent and polls real work to do.
 */
import { rmSync } from 'node:fs';
import { startDashboard } from '../orchestrator/dashboard/server.js';
import { fakeRun, type FakeRun } from '../test/dashboard/fixture.js';
import { SseClient } from '../test/dashboard/sse-client.js';
import { benchPrefix } from './lib/redis.js';
import { atMost, now, row, sleep } from './lib/stats.js';
import type { BenchContext, BenchResult, Benchmark } from './lib/types.js';

/** `reps` sequential GETs of /api/runs; milliseconds each. */
async function listLatency(base: string, reps: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = now();
    const res = await fetch(new URL('/api/runs', base));
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`/api/runs answered ${res.status}`);
    out.push(now() - t);
    await sleep(50);
  }
  return out;
}

export const dashboard: Benchmark = {
  name: 'dashboard',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const t0 = now();
    const nRuns = ctx.quick ? 10 : 40;
    const nPages = ctx.quick ? 50 : 200;
    const reps = ctx.quick ? 10 : 40;
    const first = fakeRun({ id: 'bench-run-000' });
    const runs: FakeRun[] = [first];
    for (let i = 1; i < nRuns; i++)
      runs.push(fakeRun({ id: `bench-run-${String(i).padStart(3, '0')}`, runsDir: first.runsDir }));
    // Runs at different points: some finished a round, some barely started.
    runs.forEach((r, i) => {
      for (let k = 0; k < (i * 7) % 40; k++) r.step();
    });
    const dash = await startDashboard({
      redisUrl: ctx.redisUrl,
      prefix: benchPrefix('dash'),
      runsDir: first.runsDir,
      maxSseClients: nPages + 10,
    });
    const moving = runs.slice(0, 4);
    const ticker = setInterval(() => moving.forEach((r) => r.step()), 250);
    const pages: SseClient[] = [];
    try {
      await listLatency(dash.url, 5); // warm the caches
      const idle = await listLatency(dash.url, reps);
      ctx.log(`dashboard: idle /api/runs median ${idle.sort((a, b) => a - b)[idle.length >> 1].toFixed(1)} ms`);
      for (let i = 0; i < nPages; i++) {
        const r = runs[i % runs.length];
        pages.push(await SseClient.open(new URL(`/api/events?run=${r.store.id}`, dash.url).href));
      }
      if (pages.some((p) => p.status !== 200))
        throw new Error(`only ${pages.filter((p) => p.status === 200).length} of ${nPages} live pages were accepted`);
      await Promise.all(pages.map((p) => p.next('snapshot', () => true, 60_000)));
      const loaded = await listLatency(dash.url, reps);
      ctx.log(
        `dashboard: with ${dash.stats().sseClients} live pages /api/runs median ${loaded.sort((a, b) => a - b)[loaded.length >> 1].toFixed(1)} ms`,
      );
      return {
        name: 'dashboard',
        title: `Dashboard: /api/runs with ${nPages} live pages on ${nRuns} runs`,
        ours: `GET /api/runs while ${nPages} SSE pages (${nPages / nRuns} per run) are open`,
        baseline: 'GET /api/runs on the same dashboard and runs with no page open',
        rows: [row(`/api/runs latency, ${nPages} live pages vs none`, 'ms', loaded, idle, atMost(2))],
        notes: [
          `${reps} sequential requests each; 4 runs take a step every 250 ms in both phases; snapshots built ${dash.stats().builds} times in all.`,
        ],
        seconds: (now() - t0) / 1000,
      };
    } finally {
      clearInterval(ticker);
      pages.forEach((p) => p.close());
      await dash.close();
      for (const r of runs) rmSync(r.root, { recursive: true, force: true });
    }
  },
};
