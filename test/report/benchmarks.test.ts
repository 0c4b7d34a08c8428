/**
 * Benchmarks baseline → final from both evaluation backends, the paper's figures beside them,
 * what an empty accuracy plot says instead, the recipe warnings behind it, and "–" (never 0 %) for
 * a round that was not evaluated. Pure functions on eval documents as `readEvals` returns them.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderStatus } from '../../orchestrator/cli/render.js';
import { evalNote } from '../../orchestrator/dashboard/snapshot.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import { parseSource } from '../../orchestrator/recipe/source.js';
import { nothingEvaluated, recipeWarnings } from '../../orchestrator/recipe/warnings.js';
import {
  benchmarkRows,
  benchmarkTable,
  formatChange,
  hasBenchmarksBeyondHeldout,
} from '../../orchestrator/report/benchmark-results.js';
import { PAPER_FIGURES, paperComparison, paperTable } from '../../orchestrator/report/paper-figures.js';
import { benchmarkSections, heldoutNote } from '../../orchestrator/report/report-input.js';
import type { RoundResult } from '../../orchestrator/report/results.js';
import type { Manifest } from '../../orchestrator/store/manifest.js';
import type { BenchmarkMeasure, EvalResult } from '../../orchestrator/store/metrics-files.js';

const builtin = (value: number | null): BenchmarkMeasure => ({
  backend: 'builtin',
  kind: 'task',
  metric: 'accuracy',
  value,
  higher_is_better: true,
  n: 8,
  metrics: {},
});
const lmms = (metric: string, metrics: Record<string, number>): BenchmarkMeasure => ({
  backend: 'lmms_eval',
  kind: 'task',
  metric,
  value: metrics[metric],
  higher_is_better: true,
  n: 100,
  metrics,
});

function evalOf(
  round: number,
  benchmarks: Record<string, BenchmarkMeasure>,
  overall: number | null = null,
): EvalResult {
  const by_benchmark = Object.fromEntries(Object.entries(benchmarks).map(([k, m]) => [k, m.value]));
  return { round, overall, by_task: {}, by_benchmark, benchmarks, n: overall === null ? 0 : 8 };
}

/** Round 0 (baseline), round 1 with POPE only, round 2 with both: the final is each benchmark's last. */
const EVALS = [
  evalOf(
    0,
    {
      synthetic: builtin(0.25),
      pope: lmms('pope_f1_score', { pope_f1_score: 0.5, pope_accuracy: 0.6 }),
      mme: lmms('mme_perception_score', { mme_perception_score: 800 }),
    },
    0.25,
  ),
  evalOf(1, { pope: lmms('pope_f1_score', { pope_f1_score: 0.55, pope_accuracy: 0.62 }) }),
  evalOf(2, { synthetic: builtin(0.5), mme: lmms('mme_perception_score', { mme_perception_score: 790.5 }) }, 0.5),
];

describe('benchmark rows (baseline → final)', () => {
  it('gives each benchmark its metric, values by round, and the change from round 0 to its last round', () => {
    const rows = benchmarkRows(EVALS);
    expect(rows.map((r) => [r.benchmark, r.backend, r.metric, r.baseline, r.final, r.final_round])).toEqual([
      ['synthetic', 'builtin', 'accuracy', 0.25, 0.5, 2],
      ['pope', 'lmms_eval', 'pope_f1_score', 0.5, 0.55, 1],
      ['mme', 'lmms_eval', 'mme_perception_score', 800, 790.5, 2],
    ]);
    expect(rows[0].values).toEqual({ '0': 0.25, '2': 0.5 });
    expect(rows[2].change).toBeCloseTo(-9.5);
  });

  it('renders built-in accuracies in percent and other metrics in their own unit, "–" where a round has none', () => {
    const table = benchmarkTable(benchmarkRows(EVALS)).split('\n');
    expect(table[0]).toBe('| benchmark | backend | metric | round 0 (baseline) | round 1 | round 2 | change |');
    expect(table[2]).toBe('| synthetic | built-in | accuracy | 25.0% | – | 50.0% | +25.0 pt |');
    expect(table[3]).toBe('| pope | lmms-eval | pope_f1_score | 0.5 | 0.55 | – | +0.05 |');
    expect(table[4]).toBe('| mme | lmms-eval | mme_perception_score | 800 | – | 790.5 | −9.5 |');
    expect(formatChange(null, 'builtin')).toBe('–');
    expect(formatChange(0, 'lmms_eval')).toBe('±0');
  });

  it('adds a benchmarks section only when it says more than the held-out column', () => {
    const heldoutOnly = benchmarkRows([evalOf(0, { synthetic: builtin(0.25) }, 0.25)]);
    expect(hasBenchmarksBeyondHeldout(heldoutOnly)).toBe(false);
    expect(benchmarkSections(heldoutOnly, null)).toEqual([]);
    expect(benchmarkSections(benchmarkRows(EVALS), null)[0]).toBe('## Benchmarks (round 0 = the starting model)');
  });
});

describe('the paper beside ours', () => {
  it('holds the nine benchmarks of Wang et al. (arXiv 2503.20309) for Qwen2-VL-7B, baseline → IPA', () => {
    expect(PAPER_FIGURES.source).toContain('arXiv 2503.20309');
    expect(Object.fromEntries(PAPER_FIGURES.benchmarks.map((b) => [b.benchmark, [b.baseline, b.ipa]]))).toEqual({
      HallusionBench: [50.0, 54.3],
      POPE: [86.2, 87.2],
      'MMHal-Bench': [3.6, 3.7],
      MMMU: [53.8, 54.6],
      MMStar: [60.7, 61.7],
      MMVet: [63.1, 64.2],
      MME: [1676, 1687],
      LLaVABench: [76.6, 84.0],
      OCRBench: [86.2, 87.3],
    });
  });

  it('puts ours in the paper\'s unit (POPE F1 × 100, MME as is), "–" for benchmarks the run did not evaluate', () => {
    const rows = paperComparison(EVALS);
    expect(rows.find((r) => r.benchmark === 'POPE')).toMatchObject({
      ours_baseline: 50,
      ours_final: expect.closeTo(55, 9),
      ours_final_round: 1,
    });
    expect(rows.find((r) => r.benchmark === 'MME')).toMatchObject({
      ours_baseline: 800,
      ours_final: 790.5,
      ours_final_round: 2,
    });
    expect(rows.find((r) => r.benchmark === 'MMStar')).toMatchObject({
      ours_baseline: null,
      ours_final: null,
      ours_final_round: null,
    });
    const md = paperTable(rows);
    expect(md).toContain('| POPE | pope (pope_f1_score) | 86.2 → 87.2 | +1 | 50 → 55 (round 1) | +5 |');
    expect(md).toContain('| MMHal-Bench | no lmms-eval task | 3.6 → 3.7 | +0.1 | – → – | – |');
    expect(md).toContain('Paper: Wang et al.');
  });
});

describe('nothing silent', () => {
  const base = { name: 'w', model: { base: '/m' } };
  /** Locates warnings in the recipe written out as YAML. */
  const locator = (recipe: object) => parseSource(stringify(recipe), 'w.yaml').at;

  it('warns when a recipe evaluates nothing, and says why', () => {
    const none = RecipeSchema.parse({ ...base, eval: { after: 'none' }, data: { synthetic: { enabled: true } } });
    expect(nothingEvaluated(none)).toBe('eval.after is none: no round is evaluated');
    expect(recipeWarnings(none, locator(none)).map((w) => w.path)).toEqual(['eval.after']);
    const empty = RecipeSchema.parse(base);
    expect(recipeWarnings(empty, locator(empty))[0]).toMatchObject({
      path: 'eval',
      message: expect.stringContaining('no eval.benchmarks, no synthetic held-out split, lmms-eval off'),
    });
    const lmmsOnly = RecipeSchema.parse({ ...base, eval: { lmms_eval: { enabled: true, tasks: ['pope'] } } });
    expect(nothingEvaluated(lmmsOnly)).toBeNull();
    expect(recipeWarnings(lmmsOnly, locator(lmmsOnly))).toEqual([]);
  });

  it('gives the accuracy plot a reason instead of "no evaluation yet"', () => {
    const notEvaluated = [{ round: 0, heldout_accuracy: null }] as RoundResult[];
    expect(heldoutNote(RecipeSchema.parse({ ...base, eval: { after: 'none' } }), notEvaluated, [])).toBe(
      'not evaluated: eval.after is none: no round is evaluated',
    );
    const lmmsRecipe = RecipeSchema.parse({ ...base, eval: { lmms_eval: { enabled: true, tasks: ['pope'] } } });
    expect(heldoutNote(lmmsRecipe, notEvaluated, [EVALS[1]])).toBe(
      'no local benchmark: the lmms-eval results are in report.md',
    );
    expect(heldoutNote(lmmsRecipe, notEvaluated, [])).toBe(
      'no evaluation file was written (see the eval jobs in ipa logs)',
    );
    expect(heldoutNote(lmmsRecipe, [{ round: 0, heldout_accuracy: 0.2 }] as RoundResult[], [])).toBeNull();
  });

  it('ipa status shows "–" for a round evaluated without held-out accuracy, never 0 %', () => {
    const m = {
      run: {
        id: 'r',
        state: 'running',
        created_at: '2026-11-26T08:00:00.000Z',
        updated_at: '2026-11-26T08:10:00.000Z',
      },
      rounds: [
        {
          round: 0,
          shards: 0,
          stages: [
            {
              stage: 'eval',
              jobs: 1,
              done: 1,
              attempts: 1,
              rows: 1,
              outputs: { eval: 1 },
              failed_items: 0,
              duration_ms: 1000,
              metrics: {},
            },
          ],
          eval: { overall: null, by_task: {}, n: 0 },
        },
        {
          round: 1,
          shards: 1,
          stages: [
            {
              stage: 'eval',
              jobs: 1,
              done: 1,
              attempts: 1,
              rows: 1,
              outputs: { eval: 1 },
              failed_items: 0,
              duration_ms: 1000,
              metrics: {},
            },
          ],
          eval: { overall: 0.375, by_task: {}, n: 8 },
        },
        {
          round: 2,
          shards: 1,
          stages: [
            {
              stage: 'sample',
              jobs: 1,
              done: 0,
              attempts: 0,
              rows: 0,
              outputs: {},
              failed_items: 0,
              duration_ms: 0,
              metrics: {},
            },
          ],
        },
      ],
      jobs: {},
      totals: { jobs: 3, done: 2, attempts: 2, recomputed: 0 },
    } as unknown as Manifest;
    const lines = renderStatus(m, { dir: '/nonexistent/r' }).split('\n');
    expect(lines).toContain('round 0  held-out acc –');
    expect(lines).toContain('round 1 (1 shard)  held-out acc 37.5%');
    expect(lines).toContain('round 2 (1 shard)  held-out acc –');
    expect(lines.join('\n')).not.toContain('0.0%');
  });
});

describe("the dashboard's evaluation panel", () => {
  const why = () => 'not evaluated: eval.after is none: no round is evaluated';
  it('gives a completed run that evaluated nothing its reason, and says nothing while a run is under way', () => {
    expect(evalNote('completed', why, [])).toBe(why());
    expect(evalNote('running', why, [])).toBeNull();
    expect(evalNote('completed', why, [EVALS[0]])).toBeNull();
  });
});
