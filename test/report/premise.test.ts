/**
 * The premise demo's figures in Node: per-round fact accuracy, compliance and success, the audit per
 * check, coverage, the repair-rate control and the gates from a fabricated run; paired bootstrap
 * intervals, the pre-registered criterion, the noise floor, the tuning grid, and the files
 * `ipa ablate` writes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { evalFile, stageOutputs } from '../../orchestrator/plan/paths.js';
import { jobId, type Stage } from '../../orchestrator/plan/stages.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import { ROW, type SeedResults } from '../../orchestrator/report/baselines.js';
import { baselinesMarkdown, splitReruns } from '../../orchestrator/report/baselines-report.js';
import { bestPoints, gridPoints, gridTable, gridVariant, type GridResult } from '../../orchestrator/report/grid.js';
import { excludesZero, formatInterval, itemDifferences, pairedBootstrap } from '../../orchestrator/report/paired.js';
import { compare, premiseCriterion } from '../../orchestrator/report/premise-comparison.js';
import { familySection } from '../../orchestrator/report/report-input.js';
import { evalItems, resultsTable, roundResults, type RoundResult } from '../../orchestrator/report/results.js';
import { ablationDir, writeAblation } from '../../orchestrator/run/ablation-output.js';
import { atomicWriteJson, atomicWriteJsonl } from '../../orchestrator/store/atomic.js';
import { RunStore } from '../../orchestrator/store/run-store.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ipa-premise-'));
  roots.push(d);
  return d;
};

/** Outcomes of `n` items with the first `k` true. */
const outcomes = (n: number, k: number, prefix = 'i') =>
  new Map(Array.from({ length: n }, (_, i) => [`${prefix}${String(i).padStart(3, '0')}`, i < k]));

describe('paired bootstrap', () => {
  it('differences items both variants have, and intervals around the paired mean', () => {
    const a = outcomes(200, 120);
    const b = outcomes(200, 80);
    expect(itemDifferences(a, b).reduce((x, y) => x + y, 0)).toBe(40);
    expect(itemDifferences(a, outcomes(10, 10))).toHaveLength(10);
    const i = pairedBootstrap([itemDifferences(a, b)]);
    expect(i.diff).toBeCloseTo(20);
    expect(i.lo).toBeGreaterThan(10);
    expect(i.hi).toBeLessThan(28);
    expect(excludesZero(i)).toBe(true);
    expect(pairedBootstrap([itemDifferences(a, b)])).toEqual(i); // deterministic
    expect(excludesZero(pairedBootstrap([itemDifferences(outcomes(200, 100), outcomes(200, 98))]))).toBe(false);
    expect(formatInterval({ diff: 2.04, lo: -1.5, hi: 5, n: 3 })).toBe('+2.0 [−1.5, +5.0]');
  });

  it('pools seeds as the mean of their means, resampling items within each seed', () => {
    const i = pairedBootstrap([
      itemDifferences(outcomes(100, 60), outcomes(100, 40)),
      itemDifferences(outcomes(100, 50), outcomes(100, 50)),
    ]);
    expect(i.diff).toBeCloseTo(10);
    expect(i.n).toBe(200);
  });
});

/** A seed whose rows have success (and facts) outcomes on 200 items, given as true-counts per row. */
function seed(
  s: number,
  success: Partial<Record<string, number>>,
  facts: Partial<Record<string, number>> = {},
): SeedResults {
  const items = Object.fromEntries(
    Object.values(ROW).map((row) => [
      row,
      { success: outcomes(200, success[row] ?? 0), facts: outcomes(200, facts[row] ?? 180) },
    ]),
  );
  const none: RoundResult[] = [];
  return { seed: s, ipa: none, nocontrastive: none, rft: none, sftref: none, oracle: none, items };
}

describe('the pre-registered criterion', () => {
  const good = { [ROW.r3]: 120, [ROW.sftref]: 60, [ROW.warmup]: 90 };
  it('holds when IPA beats SFT on references by 10 and the warm-up by 5 on every seed, facts kept', () => {
    const seeds = [7, 8, 9, 10, 11].map((s) => seed(s, good));
    const c = premiseCriterion(seeds);
    expect(c.met).toBe(true);
    expect(c.lines).toHaveLength(15);
    expect(c.lines[0]).toMatch(/^seed 7: holds: vs SFT on references \+30\.0 \[/);
  });

  it('fails on one weak seed, on lost facts, or with fewer than 5 seeds', () => {
    const weak = [7, 8, 9, 10].map((s) => seed(s, good)).concat(seed(11, { ...good, [ROW.r3]: 95 }));
    const c = premiseCriterion(weak);
    expect(c.met).toBe(false);
    // +17.5 over SFT on the references holds; +2.5 over the warm-up does not
    expect(c.lines.filter((l) => l.includes('fails'))).toEqual([
      expect.stringMatching(/^seed 11: fails: vs warm-up \+2\.5 \[/),
    ]);
    const facts = [7, 8, 9, 10, 11].map((s) => seed(s, good, { [ROW.r3]: 170 }));
    expect(premiseCriterion(facts).lines.find((l) => l.includes('fact accuracy'))).toMatch(
      /fails: fact accuracy vs warm-up −5\.0/,
    );
    expect(premiseCriterion([7, 8].map((s) => seed(s, good))).met).toBe(false);
  });

  it("cannot judge when a seed's warm-up fails the warm-up gate", () => {
    const seeds = [7, 8, 9, 10, 11].map((s) => seed(s, good));
    seeds[2] = {
      ...seeds[2],
      ipa: [{ round: 0, warmup_gate: { fact_accuracy: 0.6, level: 0.85, passed: false } } as RoundResult],
    };
    const c = premiseCriterion(seeds);
    expect([c.met, c.cannotJudge]).toEqual([false, true]);
    expect(c.lines[0]).toBe(
      "seed 9: the warm-up's fact accuracy on validation is 60.0 %, below the gate's 85 %: cannot judge",
    );
    expect(baselinesMarkdown(seeds, 'heldout')).toContain('### Pre-registered criterion: CANNOT JUDGE (warm-up gate)');
  });

  it('compares per seed and pooled', () => {
    const c = compare([seed(7, good), seed(8, { ...good, [ROW.r3]: 60 })], ROW.r3, ROW.sftref);
    expect(c.perSeed.map((i) => Math.round(i.diff))).toEqual([30, 0]);
    expect(c.pooled.diff).toBeCloseTo(15);
  });
});

describe('the baselines report', () => {
  it('takes a seed given twice as the noise floor, not as another seed', () => {
    const first = seed(7, { [ROW.r3]: 120 });
    const again = seed(7, { [ROW.r3]: 110 });
    expect(splitReruns([first, seed(8, {}), again])).toEqual({
      unique: [first, seed(8, {})],
      reruns: [[first, again]],
    });
    const md = baselinesMarkdown([first, seed(8, {}), again], 'heldout');
    expect(md).toContain('### Noise floor: seed 7 run twice');
    expect(md).toContain(`| ${ROW.r3} | −5.0 [`);
    expect(md).toContain('### Pre-registered criterion: NOT MET');
    expect(md).toContain('- only 2 seeds (the criterion needs at least 5)');
  });
});

describe('the tuning grid', () => {
  it('gives every objective the same learning rates and epochs, from the same warm-up model', () => {
    const points = gridPoints(['dpo', 'rft', 'sftref', 'oracle'], [1e-5, 1e-4], [1, 3]);
    expect(points).toHaveLength(16);
    const ipa = { name: 'tiny-s7', model: { base: '../m' }, rounds: [{ name: 'automated' }, {}, {}] };
    const dpo = gridVariant(ipa, points[1], '/runs/x/models/sft', '/runs');
    expect(dpo).toMatchObject({
      name: 'tiny-s7-dpo-lr0.00001-e3',
      model: { base: '/runs/x/models/sft' },
      training: { objective: 'dpo', dpo: { learning_rate: 1e-5, epochs: 3 } },
    });
    const oracle = gridVariant(ipa, points[15], '/w', '/r');
    expect(oracle).toMatchObject({ training: { objective: 'sft_oracle', sft: { learning_rate: 1e-4, epochs: 3 } } });
    for (const v of [dpo, oracle]) expect(RecipeSchema.safeParse(v).success).toBe(true);
  });

  it('marks the best point per objective on validation success, fewer steps on a tie', () => {
    const r = (
      objective: 'dpo' | 'rft',
      learning_rate: number,
      epochs: number,
      success: number,
      steps: number,
    ): GridResult => ({
      objective,
      learning_rate,
      epochs,
      success,
      steps,
      seed: 7,
      run: 'x',
      facts: 90,
      compliance: 50,
    });
    const results = [
      r('dpo', 1e-5, 1, 40, 10),
      r('dpo', 1e-4, 1, 45, 10),
      r('rft', 1e-5, 1, 50, 20),
      r('rft', 1e-5, 3, 50, 60),
    ];
    expect([...bestPoints(results).values()]).toEqual([
      { objective: 'dpo', learning_rate: 1e-4, epochs: 1 },
      { objective: 'rft', learning_rate: 1e-5, epochs: 1 },
    ]);
    expect(gridTable(results)).toContain('| dpo **(best)** | 0.0001 | 1 | 7 | 10 | 45.0 | 90.0 | 50.0 | x |');
  });
});

describe('a premise run in the results', () => {
  function premiseRun(gatePassed: boolean): RunStore {
    const root = tmp();
    const recipeFile = join(root, 'recipe.yaml');
    writeFileSync(recipeFile, 'name: p\n');
    const recipe = RecipeSchema.parse({ name: 'p', model: { base: '/m' }, rounds: [{ name: 'one' }] });
    const store = RunStore.create({
      runsDir: join(root, 'runs'),
      recipe,
      recipeFile,
      queuePrefix: 'test',
      id: 'p-run',
    });
    const done = (stage: Stage, rows: Record<string, number>, metrics: Record<string, unknown>) =>
      store.writeDone({
        job_id: jobId({ runId: 'p-run', round: 1, stage, shard: 0 }),
        stage,
        round: 1,
        shard: 0,
        outputs: Object.fromEntries(
          Object.entries(rows).map(([k, n]) => [
            k,
            atomicWriteJsonl(
              store.abs(stageOutputs(stage, 1, 0)[k]),
              Array.from({ length: n }, (_, i) => ({ i })),
            ),
          ]),
        ),
        metrics,
        failed_items: [],
        attempts: 1,
        started_at: '2026-01-01T00:00:00.000Z',
        finished_at: '2026-01-01T00:00:01.000Z',
        duration_ms: 1000,
        worker: 'w',
      }); // fmt: skip
    const check = (c: string, tp: number, fp: number, fn: number) => ({
      [`audit_${c}_tp`]: tp,
      [`audit_${c}_fp`]: fp,
      [`audit_${c}_fn`]: fn,
      [`audit_${c}_tn`]: 1,
      [`audit_${c}_unjudged`]: 2,
    });
    done(
      'verify',
      { verdicts: 20 },
      {
        n: 20,
        judged: 18,
        passed: 9,
        ...check('entailed', 8, 2, 0),
        ...check('complete', 9, 0, 1),
        ...check('no_contradiction', 6, 0, 6),
        ...check('instruction_followed', 3, 3, 3),
      },
    );
    done(
      'verify_revisions',
      { revision_verdicts: 10 },
      { n: 10, judged: 10, passed: 4, audit_true: 4, control_n: 10, audit_control_true: 1 },
    );
    done('pair', { pairs: 4 }, { unjudged_seeds: 2, chosen_correct: 3 });
    done(
      'train',
      {},
      {
        steps: 3,
        reward_accuracy_train_pairs: 0.8,
        reward_accuracy_heldout_pairs: 0.6,
        reward_accuracy_train_pairs_before: 0,
        reward_accuracy_heldout_pairs_before: 0,
        gate_accuracy: 0.9,
      },
    );
    const fam = (f: number, c: number) => ({ fact_accuracy: f, compliance: c, success: Math.min(f, c), n: 10 });
    const items = [
      { id: 'synthetic/a', facts_ok: true, complies: false, success: false },
      { id: 'synthetic/b', facts_ok: true, complies: true, success: true },
    ];
    atomicWriteJson(store.abs(evalFile(0)), {
      round: 0,
      overall: 0.3,
      premise: { fact_accuracy: 0.9, compliance: 0.4, success: 0.3, by_family: { json: fam(0.9, 0.2) }, items },
      warmup_gate: {
        split: 'validation',
        fact_accuracy: gatePassed ? 0.9 : 0.6,
        level: 0.85,
        passed: gatePassed,
        n: 10,
      },
    });
    atomicWriteJson(store.abs(evalFile(1)), {
      round: 1,
      overall: 0.5,
      premise: { fact_accuracy: 0.88, compliance: 0.6, success: 0.5, by_family: { json: fam(0.88, 0.7) }, items },
    });
    return store;
  }

  it('holds fact accuracy, compliance, success, each check, coverage, the control and both gates per round', () => {
    const store = premiseRun(true);
    const [r0, r1] = roundResults(store);
    expect([r0.fact_accuracy, r0.compliance, r0.success, r0.warmup_gate?.passed]).toEqual([0.9, 0.4, 0.3, true]);
    expect(r1).toMatchObject({
      fact_accuracy: 0.88,
      compliance: 0.6,
      success: 0.5,
      unjudged_seeds: 2,
      gate_accuracy: 0.9,
      reward_accuracy_train_before: 0,
    });
    expect(r1.coverage).toBeCloseTo(28 / 30);
    expect(r1.control_repair_rate).toBeCloseTo(0.1);
    expect(r1.true_repair_rate).toBeCloseTo(0.4);
    expect(r1.check_audit.entailed).toEqual({ precision: 0.8, recall: 1, unjudged: 2 });
    expect(r1.check_audit.no_contradiction).toEqual({ precision: 1, recall: 0.5, unjudged: 2 });
    const table = resultsTable(roundResults(store));
    expect(table).toContain('| round | fact accuracy | compliance | success |');
    expect(table).toContain('| 1 | 88.0% | 60.0% | 50.0% |');
    expect(table).toContain('| 1 | 80.0% / 100.0% | 100.0% / 90.0% | 100.0% / 50.0% | 50.0% / 50.0% |');
    expect(table).toContain('warm-up fact accuracy on the validation split: 90.0% (gate 85%): passed');
    expect(familySection(roundResults(store)).join('\n')).toContain('| 1 | 88.0% / 70.0% / 70.0% |');
    expect(evalItems(store, 1)).toEqual(
      new Map([
        ['synthetic/a', false],
        ['synthetic/b', true],
      ]),
    );
    expect(evalItems(store, 1, 'facts_ok')?.get('synthetic/a')).toBe(true);
  });

  it('says a run below the warm-up gate cannot judge the premise', () => {
    expect(resultsTable(roundResults(premiseRun(false)))).toContain(
      "60.0%, below the gate's 85%: this run cannot judge IPA's premise",
    );
  });
});

describe('ipa ablate output', () => {
  it('writes the tables and the per-seed results into the runs folder', () => {
    const runs = tmp();
    const dir = ablationDir(runs, 'tiny', new Date('2026-12-01T10:20:30.000Z'));
    expect(dir).toBe(join(runs, 'ablations', 'tiny-20261201-102030'));
    const md = writeAblation(dir, '| a |', { seeds: [7] });
    expect(readFileSync(md, 'utf8')).toBe('| a |\n');
    expect(JSON.parse(readFileSync(join(dir, 'ablation.json'), 'utf8'))).toEqual({ seeds: [7] });
  });
});
