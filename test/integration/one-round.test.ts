/**
 * The vertical slice: real Redis, a real agent, the real Python process on the tiny Qwen2-VL,
 * one whole IPA round (prepare → eval → sample → verify → revise → verify → pair → train → eval → report).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJsonl } from '../../orchestrator/store/atomic.js';
import { buildManifest } from '../../orchestrator/store/manifest.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { roundResults } from '../../orchestrator/report/results.js';
import { harness, tinyRecipe, type Harness } from '../helpers/harness.js';

describe('one IPA round end to end', () => {
  let h: Harness;
  let store: RunStore;

  beforeAll(async () => {
    h = await harness('round', tinyRecipe());
    await h.startAgent();
    store = await h.submit();
    const state = await h.wait(store);
    if (state !== 'completed') throw new Error(`run ended ${state}: ${store.info().error}`);
  }, 900_000);

  afterAll(async () => {
    await h?.close();
  });

  it('records every stage as done, each computed once', () => {
    const m = buildManifest(store);
    expect(m.run.state).toBe('completed');
    expect(m.totals.done).toBe(m.totals.jobs);
    expect(m.totals.recomputed).toBe(0);
    const r1 = m.rounds[1];
    expect(r1.shards).toBe(2);
    expect(r1.stages.map((s) => s.stage)).toEqual(['sample', 'verify', 'revise', 'verify_revisions', 'pair', 'train', 'eval', 'report', 'advance']);
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
    if ((results[1].pairs ?? 0) > 0) expect(existsSync(store.abs('round-1/models/policy/adapter_config.json'))).toBe(true);
    expect(existsSync(store.abs('report.md'))).toBe(true);
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
