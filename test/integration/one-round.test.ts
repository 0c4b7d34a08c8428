/**
 * The vertical slice: real Redis, a real agent, the real Python process on the tiny Qwen2-VL,
 * one whole IPA round (prepare → eval → sample → verify → revise → verify → pair → train → eval → report),
 * watched live in the dashboard in headless Chromium while it runs.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../orchestrator/cli/main.js';
import { readJsonl } from '../../orchestrator/store/atomic.js';
import { buildManifest } from '../../orchestrator/store/manifest.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { roundResults } from '../../orchestrator/report/results.js';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDashboard, type Dashboard } from '../../orchestrator/dashboard/server.js';
import { harness, REPO, tinyRecipe, type Harness } from '../helpers/harness.js';
import { redisUrl } from '../helpers/redis.js';

describe('one IPA round end to end', () => {
  let h: Harness;
  let store: RunStore;
  let dash: Dashboard;
  let browser: Browser;
  let page: Page;
  /** `run-progress` values the page showed while the run advanced. */
  const seen = new Set<string>();

  beforeAll(async () => {
    h = await harness('round', tinyRecipe());
    dash = await startDashboard({ redisUrl: redisUrl(), prefix: h.prefix, runsDir: h.runsDir, pollMs: 250 });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    await h.startAgent();
    store = await h.submit();
    await page.goto(`${dash.url}#run=${store.id}`);
    const watching = (async () => {
      while (!['completed', 'failed', 'cancelled'].includes(store.info().state)) {
        const v = await page.getAttribute('[data-testid="run-progress"]', 'data-done').catch(() => null);
        if (v !== null) seen.add(v);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const state = await h.wait(store);
    await watching;
    if (state !== 'completed') throw new Error(`run ended ${state}: ${store.info().error}`);
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await h?.close();
  });

  it("the dashboard followed the live run and ends on the run store's numbers", async () => {
    expect(seen.size).toBeGreaterThan(2);
    const m = buildManifest(store);
    await expect
      .poll(() => page.getAttribute('[data-testid="run-progress"]', 'data-done'), { timeout: 10_000 })
      .toBe(String(m.totals.done));
    expect(await page.getAttribute('[data-testid="run-progress"]', 'data-jobs')).toBe(String(m.totals.jobs));
    await page.screenshot({ path: join(REPO, 'test-artifacts', 'dashboard-live-run.png'), fullPage: true });
  });

  it('records every stage as done, each computed once', () => {
    const m = buildManifest(store);
    expect(m.run.state).toBe('completed');
    expect(m.totals.done).toBe(m.totals.jobs);
    expect(m.totals.recomputed).toBe(0);
    const r1 = m.rounds[1];
    expect(r1.shards).toBe(2);
    expect(r1.stages.map((s) => s.stage)).toEqual([
      'sample',
      'verify',
      'revise',
      'verify_revisions',
      'pair',
      'train',
      'eval',
      'report',
      'advance',
    ]);
  });

  it('keeps the recipe copy, response shards, HF-format pairs and the adapter in the run directory', () => {
    expect(readFileSync(join(store.dir, 'recipe.yaml'), 'utf8')).toBe(readFileSync(h.recipeFile, 'utf8'));
    const responses = readJsonl(store.abs('round-1/responses/shard-000.jsonl'));
    // 6 seeds × (2 normal + 2 contrastive)
    expect(responses.length).toBe(24);
    expect(responses.filter((r) => r.kind === 'contrastive').every((r) => r.perturbation)).toBe(true);
    const pairFiles = readdirSync(store.abs('round-1/pairs'));
    expect(pairFiles).toEqual(['shard-000.jsonl', 'shard-001.jsonl']);
    for (const p of pairFiles.flatMap((f) => readJsonl(store.abs(`round-1/pairs/${f}`)))) {
      expect(p).toHaveProperty('prompt');
      expect(p).toHaveProperty('chosen');
      expect(p).toHaveProperty('rejected');
      expect(Array.isArray(p.images)).toBe(true);
    }
    const results = roundResults(store);
    if ((results[1].pairs ?? 0) > 0)
      expect(existsSync(store.abs('round-1/models/policy/adapter_config.json'))).toBe(true);
    expect(existsSync(store.abs('report.md'))).toBe(true);
  });

  it('ipa export writes the pairs as JSONL with every pair of the run', async () => {
    const out = join(store.dir, 'export', 'pairs.jsonl');
    expect(await main(['export', store.dir, '--format', 'jsonl', '--out', out])).toBe(0);
    expect(readJsonl(out).length).toBe(roundResults(store)[1].pairs);
  });

  it('reports per-stage counts: seeds, responses, pass rate, pairs, held-out accuracy', () => {
    const [r0, r1] = roundResults(store);
    expect(r0.seeds).toBe(12);
    expect(r0.heldout_accuracy).not.toBeNull();
    expect(r1.responses_normal).toBe(24);
    expect(r1.responses_contrastive).toBe(24);
    expect(r1.pass_rate).not.toBeNull();
    expect(r1.heldout_accuracy).not.toBeNull();
  });
});
