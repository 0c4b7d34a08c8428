/**
 * Issue 14, findings 2 and 3 at the API: a truncated run.json, recipe.json or done record damages
 * its run only (the list shows every run, the damaged one with its reason, never a 500); live
 * pages are capped and refused politely past the cap; one poll per run serves all its pages, so a
 * change is built once whatever the number of pages watching it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../orchestrator/dashboard/server.js';
import type { DamagedSnapshot, RunListEntry, RunSnapshot } from '../../orchestrator/dashboard/snapshot.js';
import { RunStore } from '../../orchestrator/store/run-store.js';
import { redisUrl, uniquePrefix } from '../helpers/redis.js';
import { fakeRun, type FakeRun } from './fixture.js';
import { SseClient } from './sse-client.js';

describe('dashboard: damaged runs and many live pages', () => {
  let run: FakeRun;
  let dash: Dashboard;
  const prefix = uniquePrefix('dash-load');
  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(new URL(path, dash.url));
    return { status: res.status, body: (await res.json()) as T };
  };

  /** A copy of the fake run under another id, so one can be damaged beside intact ones. */
  function copyRun(id: string): RunStore {
    const dir = join(run.runsDir, id);
    mkdirSync(dir);
    for (const f of ['run.json', 'recipe.json'])
      writeFileSync(join(dir, f), readFileSync(run.store.abs(f), 'utf8').replaceAll(run.store.id, id));
    return new RunStore(dir);
  }

  beforeAll(async () => {
    run = fakeRun();
    run.stepUntil((s) => s.doneIds().has(`${s.id}.r1.verify.s000`));
    dash = await startDashboard({ redisUrl: redisUrl(), prefix, runsDir: run.runsDir, pollMs: 100, maxSseClients: 12 });
  });
  afterAll(async () => {
    await dash?.close();
  });

  it('a truncated run.json, recipe.json or done record damages only its run', async () => {
    const badInfo = copyRun('bad-info-0001');
    const badRecipe = copyRun('bad-recipe-0002');
    writeFileSync(badInfo.abs('run.json'), '{"id": "bad-info-0001", "na');
    writeFileSync(badRecipe.abs('recipe.json'), readFileSync(badRecipe.abs('recipe.json'), 'utf8').slice(0, 40));
    const rec = run.store.abs(`jobs/${run.store.id}.r1.sample.s000.json`);
    const saved = readFileSync(rec, 'utf8');
    writeFileSync(rec, saved.slice(0, saved.length / 2));
    try {
      const { status, body } = await get<RunListEntry[]>('/api/runs');
      expect(status).toBe(200);
      const byId = Object.fromEntries(body.map((r) => [r.id, r]));
      expect(Object.keys(byId).sort()).toEqual(['bad-info-0001', 'bad-recipe-0002', run.store.id].sort());
      expect(byId['bad-info-0001'].damaged).toMatch(/bad-info-0001\/run\.json: truncated JSON/);
      expect(byId['bad-recipe-0002'].damaged).toMatch(/bad-recipe-0002\/recipe\.json: truncated JSON/);
      expect(byId['bad-recipe-0002'].state).toBe('running');
      expect(byId[run.store.id].damaged).toBeUndefined();

      const broken = await get<DamagedSnapshot>('/api/runs/bad-info-0001');
      expect(broken.status).toBe(200);
      expect(broken.body).toEqual({
        run: { id: 'bad-info-0001', state: 'damaged' },
        damaged: expect.stringMatching(/run\.json: truncated JSON/),
      });

      // The truncated record: the job counts as not done, and the snapshot says why.
      const snap = await get<RunSnapshot>(`/api/runs/${run.store.id}`);
      expect(snap.status).toBe(200);
      expect(snap.body.manifest.jobs[`${run.store.id}.r1.sample.s000`].done).toBe(false);
      expect(snap.body.damage).toContainEqual(
        expect.objectContaining({
          kind: 'unreadable-record',
          job: `${run.store.id}.r1.sample.s000`,
          reason: expect.stringMatching(/^done record truncated JSON/),
        }),
      );
    } finally {
      writeFileSync(rec, saved);
    }
  });

  it('refuses live pages past the cap with a reason, and takes one again once a page closes', async () => {
    const url = new URL(`/api/events?run=${run.store.id}`, dash.url).href;
    const pages: SseClient[] = [];
    try {
      for (let i = 0; i < 12; i++) pages.push(await SseClient.open(url));
      expect(pages.map((p) => p.status)).toEqual(Array(12).fill(200));
      const res = await fetch(url);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('30');
      expect(((await res.json()) as { error: string }).error).toMatch(
        /already serves 12 live pages .*--max-sse-clients.*polling/,
      );
      expect(dash.stats().sseClients).toBe(12);
      pages.pop()!.close();
      await expect.poll(() => dash.stats().sseClients).toBe(11);
      const again = await SseClient.open(url);
      pages.push(again);
      expect(again.status).toBe(200);
    } finally {
      pages.forEach((p) => p.close());
    }
  });

  it('one poll per run serves all its pages: a change is built once, not once per page', async () => {
    const url = new URL(`/api/events?run=${run.store.id}`, dash.url).href;
    await expect.poll(() => dash.stats().sseClients).toBe(0);
    const pages = await Promise.all(Array.from({ length: 10 }, () => SseClient.open(url)));
    try {
      for (const p of pages) await p.next<RunSnapshot>('snapshot');
      // Let every pending poll settle, then count the builds one change costs.
      await new Promise((r) => setTimeout(r, 300));
      const before = dash.stats().builds;
      const done = (await get<RunSnapshot>(`/api/runs/${run.store.id}`)).body.progress.done;
      expect(run.step()).toBe(true);
      for (const p of pages)
        expect((await p.next<RunSnapshot>('snapshot', (s) => s.progress.done > done, 5000)).progress.done).toBe(
          done + 1,
        );
      // One snapshot and one list entry for the change (the /api/runs/:id read above may add one more).
      expect(dash.stats().builds - before).toBeLessThanOrEqual(3);
    } finally {
      pages.forEach((p) => p.close());
    }
  });
});
