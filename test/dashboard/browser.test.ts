/**
 * End to end in headless Chromium: the page shows the run store's numbers and follows the run
 * live as done records appear. Needs Debian's chromium (`scripts/setup-system.sh --browser`).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishWorker, type WorkerInfo } from '../../orchestrator/agent/registry.js';
import { startDashboard, type Dashboard } from '../../orchestrator/dashboard/server.js';
import { roundResults } from '../../orchestrator/report/results.js';
import { buildManifest } from '../../orchestrator/store/manifest.js';
import { deletePrefix, redisUrl, testConnection, uniquePrefix } from '../helpers/redis.js';
import { fakeRun, SEEDS, type FakeRun } from './fixture.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'browser-token-8c2e41d07a';
const SCREENSHOT = join(REPO, 'test-artifacts', 'dashboard.png');

/** A GPU worker in the registry, running one job of the test run. */
function worker(job: string, progress: { done: number; total: number }): WorkerInfo {
  const [round, stage, shard] = /^r(\d+)\.(\w+)\.s(\d+)$/.exec(job)!.slice(1);
  const now = new Date().toISOString();
  return {
    id: 'gpu-node-1.4711.g0',
    host: 'gpu-node-1',
    pid: 4711,
    queues: ['sample', 'verify', 'revise'],
    gpu: '0',
    concurrency: 1,
    devices: [{ kind: 'cuda', index: 0, name: 'H100' }],
    backends: ['hf', 'vllm'],
    versions: {},
    started_at: now,
    heartbeat_at: now,
    current: [
      {
        job_id: `${run.store.id}.${job}`,
        stage,
        run: run.store.id,
        round: Number(round),
        shard: Number(shard),
        started_at: now,
        progress,
      },
    ],
  };
}

let run: FakeRun;
const attr = (page: Page, testid: string, name: string) => page.getAttribute(`[data-testid="${testid}"]`, name);

describe('dashboard in a browser', () => {
  let dash: Dashboard;
  let browser: Browser;
  let page: Page;
  let redis: Redis;
  const prefix = uniquePrefix('dash-ui');

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: run scripts/setup-system.sh --browser (apt-get install chromium)`);
    run = fakeRun({ id: 'tiny-20261126-101500-ab12' });
    // Mid round 1: every shard sampled, two of three verified, revision not started.
    run.stepUntil((s) => s.doneIds().has(`${s.id}.r1.verify.s001`));
    redis = testConnection();
    await publishWorker(redis, prefix, worker('r1.revise.s000', { done: 3, total: 8 }));
    dash = await startDashboard({ redisUrl: redisUrl(), prefix, runsDir: run.runsDir, token: TOKEN, pollMs: 250 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    if (redis) {
      await deletePrefix(redis, prefix);
      await redis.quit();
    }
  });

  it('shows the run with the run store’s numbers', async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${dash.url}?token=${TOKEN}`);
    await page.waitForSelector('[data-testid="run-progress"]');
    expect(new URL(page.url()).search).toBe(''); // the token left the address bar
    await expect.poll(() => page.textContent('[data-testid="live"]')).toBe('live');

    expect(await page.textContent('[data-testid="run-id"]')).toBe(run.store.id);
    const m = buildManifest(run.store);
    expect(await attr(page, 'run-progress', 'data-done')).toBe(String(m.totals.done));
    expect(await attr(page, 'run-progress', 'data-jobs')).toBe(String(m.totals.jobs));
    expect(await page.textContent('[data-testid="run-progress"]')).toBe(`${m.totals.done} / ${m.totals.jobs} jobs`);
    for (const round of m.rounds)
      for (const s of round.stages) {
        const cell = `cell-r${round.round}-${s.stage}`;
        expect(await page.textContent(`[data-testid="${cell}-done"]`), cell).toBe(String(s.done));
        expect(await page.textContent(`[data-testid="${cell}-jobs"]`), cell).toBe(String(s.jobs));
        expect(await attr(page, cell, 'data-attempts'), cell).toBe(String(s.attempts));
      }

    const results = roundResults(run.store);
    for (const r of results)
      for (const key of ['seeds', 'pass_rate', 'pairs', 'challenging'] as const) {
        const v = r[key];
        expect(await attr(page, `result-r${r.round}-${key}`, 'data-value'), `${key} r${r.round}`).toBe(
          v === null ? '' : String(v),
        );
      }
    expect(await page.textContent('[data-testid="result-r1-pass_rate"]')).toBe(
      `${(100 * results[1].pass_rate!).toFixed(1)}%`,
    );
    expect(await attr(page, 'eval-r0-overall', 'data-value')).toBe('0.4');
    expect(await page.textContent('[data-testid="eval-r0-overall"]')).toBe('40.0%');
    // lmms-eval numbers keep their own unit and table; the held-out table shows built-in ones only.
    expect(await page.$('[data-testid="eval-r0-bench-pope"]')).toBeNull();
    expect(await page.textContent('[data-testid="bench-pope-r0"]')).toBe('0.8');
    expect(await page.textContent('[data-testid="bench-synthetic-r0"]')).toBe('40.0%');
    expect(await page.textContent('[data-testid="paper-POPE-ours"]')).toContain('79 → ');

    expect(await page.textContent('[data-testid="workers-count"]')).toBe('(1)');
    expect(await page.textContent('[data-testid="worker-jobs-gpu-node-1.4711.g0"]')).toContain('r1 revise s0 · 38%');
    expect(await attr(page, 'cell-r1-revise', 'data-running')).toBe('1');
    expect(await page.textContent(`[data-testid="error-${run.store.id}.r1.verify.s000"]`)).toContain(
      'Internal: CUDA error',
    );
    // Advance writes one seeds file per shard of the next round: counted together, in words.
    expect(await page.textContent('[data-testid="cell-r0-advance-rows"]')).toBe(`${SEEDS} seeds`);
    expect(pageErrors).toEqual([]);
  });

  it('on a 1366×768 laptop screen the page does not overflow and the results table shows its key columns without scrolling', async () => {
    await page.setViewportSize({ width: 1366, height: 768 });
    try {
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1366);
      for (const key of ['heldout_accuracy', 'reward_accuracy_heldout', 'chosen_correct_rate']) {
        const box = await page.locator(`[data-testid="result-r1-${key}"]`).boundingBox();
        expect(box, key).not.toBeNull();
        expect(box!.x + box!.width, key).toBeLessThanOrEqual(1366);
      }
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it('follows the run live as done records are written (no reload)', async () => {
    const before = Number(await attr(page, 'run-progress', 'data-done'));
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    run.step();
    await expect.poll(() => attr(page, 'run-progress', 'data-done'), { timeout: 5000 }).toBe(String(before + 1));
    run.stepUntil((s) => s.doneIds().has(`${s.id}.r1.train.s000`));
    const m = buildManifest(run.store);
    await expect.poll(() => attr(page, 'run-progress', 'data-done'), { timeout: 5000 }).toBe(String(m.totals.done));
    await expect.poll(() => attr(page, 'cell-r1-pair', 'data-done'), { timeout: 5000 }).toBe('3');
    await expect.poll(() => attr(page, 'chart-loss', 'data-points'), { timeout: 5000 }).toBe('12');
    // Into round 2, which opens with round 1's challenging seeds.
    run.stepUntil((s) => s.doneIds().has(`${s.id}.r2.verify.s000`));
    await expect.poll(() => attr(page, 'cell-r2-verify', 'data-done'), { timeout: 5000 }).toBe('1');
    // A heartbeat with the worker's next job reaches the page too.
    await publishWorker(redis, prefix, worker('r2.revise.s000', { done: 5, total: 8 }));
    await expect.poll(() => attr(page, 'cell-r2-revise', 'data-running'), { timeout: 5000 }).toBe('1');
    expect(await attr(page, 'cell-r1-revise', 'data-running')).toBe('0');
    expect(await attr(page, 'result-r2-seeds', 'data-value')).toBe(String(roundResults(run.store)[2].seeds));
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1); // same document throughout
  });

  it('opens a traceback and saves a screenshot mid-run', async () => {
    await page.click(`[data-testid="error-${run.store.id}.r1.verify.s000"] summary`);
    expect(await page.textContent(`[data-testid="error-${run.store.id}.r1.verify.s000"] pre`)).toContain(
      'RuntimeError: CUDA error',
    );
    mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it('shows the run completed once its last record is written, traceback still open', async () => {
    while (run.step());
    const end = buildManifest(run.store);
    await expect.poll(() => page.textContent('[data-testid="run-state"]'), { timeout: 5000 }).toBe('completed');
    expect(await attr(page, 'run-progress', 'data-done')).toBe(String(end.totals.done));
    expect(await attr(page, 'run-progress', 'data-jobs')).toBe(String(end.totals.jobs));
    expect(await page.isVisible(`[data-testid="error-${run.store.id}.r1.verify.s000"] pre`)).toBe(true);
  });

  it('lists a run whose run.json is truncated beside the others, marked with its reason (issue 14, finding 3)', async () => {
    const broken = join(run.runsDir, 'broken-20261126-000000-0000');
    mkdirSync(broken);
    writeFileSync(join(broken, 'run.json'), '{"id": "broken-20261126-0000');
    try {
      await page.waitForSelector('[data-testid="run-damaged-broken-20261126-000000-0000"]', { timeout: 5000 });
      expect(await page.textContent('[data-testid="run-damaged-broken-20261126-000000-0000"]')).toMatch(
        /run\.json: truncated JSON/,
      );
      expect(await page.textContent(`[data-testid="run-${run.store.id}"]`)).toContain('completed');
      await page.click('[data-testid="run-broken-20261126-000000-0000"]');
      await expect
        .poll(() => page.textContent('[data-testid="run-damaged"]'), { timeout: 5000 })
        .toMatch(/run\.json: truncated JSON.*the other runs are unaffected/);
      await page.click(`[data-testid="run-${run.store.id}"]`);
      await expect.poll(() => page.textContent('[data-testid="run-state"]'), { timeout: 5000 }).toBe('completed');
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it('bull-board opens under /queues with the same session', async () => {
    const q = await browser.newPage();
    await q.context().addCookies(await page.context().cookies());
    const res = await q.goto(new URL('/queues', dash.url).href);
    expect(res?.status()).toBe(200);
    await q.waitForSelector('text=sample', { timeout: 15_000 });
    await q.close();
  });
});
