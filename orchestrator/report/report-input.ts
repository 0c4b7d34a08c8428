/**
 * The input of the Python `report` stage, `<run_dir>/results.json`: the per-round results exactly
 * as `roundResults` computes them for `ipa status` and the dashboard, the benchmark rows (both
 * evaluation backends, baseline → final, and the paper's figures when the recipe compares with
 * them), the whole `report.md` text rendered from those rows, the policy's DPO reward-margin
 * curves, and what the plot says when there is no held-out accuracy to draw. The results are
 * computed here and only here; Python writes the markdown out as is and draws the plot.
 */
import { readCurves, readEvals, type EvalResult } from '../store/metrics-files.js';
import { roundCount } from '../plan/planner.js';
import type { Recipe } from '../recipe/schema.js';
import { nothingEvaluated } from '../recipe/warnings.js';
import { atomicWriteJson } from '../store/atomic.js';
import type { RunStore } from '../store/run-store.js';
import { benchmarkRows, benchmarkTable, hasBenchmarksBeyondHeldout, type BenchmarkRow } from './benchmark-results.js';
import { paperComparison, paperTable, type PaperComparison } from './paper-figures.js';
import { resultsTable, roundResults, type RoundResult } from './results.js';

/** Where the agent writes the report's input, relative to the run directory. */
export const RESULTS_FILE = 'results.json';

export interface MarginPoint {
  step: number;
  margin: number;
}

export interface ReportInput {
  run_id: string;
  rounds: RoundResult[];
  /** Every benchmark evaluated, baseline (round 0) → final, from both backends. */
  benchmarks: BenchmarkRow[];
  /** The paper's figures beside ours (`eval.compare_with_paper`), else null. */
  paper: PaperComparison[] | null;
  markdown: string;
  /** Policy DPO margins by round (`"1"`, `"2"`, ...), from `round-<r>/train_metrics.jsonl`. */
  curves: Record<string, MarginPoint[]>;
  /** Why the accuracy plot is empty (nothing evaluated, lmms-eval only, ...), or null when it is not. */
  heldout_note: string | null;
}

const pct = (v: number | null | undefined) =>
  typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '–';

/**
 * What the held-out accuracy panel shows in place of a curve. The report runs after the run's
 * last evaluation, so an empty panel always has a reason to give.
 */
export function heldoutNote(recipe: Recipe, rounds: RoundResult[], evals: EvalResult[]): string | null {
  if (rounds.some((r) => r.heldout_accuracy !== null)) return null;
  const nothing = nothingEvaluated(recipe);
  if (nothing) return `not evaluated: ${nothing}`;
  if (evals.some((e) => Object.keys(e.benchmarks).length > 0))
    return 'no local benchmark: the lmms-eval results are in report.md';
  return 'no evaluation file was written (see the eval jobs in ipa logs)';
}

/** The benchmark sections of the report (and of `ipa status`): empty when the held-out column says it all. */
export function benchmarkSections(rows: BenchmarkRow[], paper: PaperComparison[] | null): string[] {
  const lines: string[] = [];
  if (hasBenchmarksBeyondHeldout(rows))
    lines.push('## Benchmarks (round 0 = the starting model)', '', benchmarkTable(rows), '');
  if (paper) lines.push('## Beside the paper', '', paperTable(paper), '');
  return lines;
}

/** A run's benchmark rows and, when its recipe asks, the paper's figures beside them. */
export function benchmarkReport(store: RunStore): {
  benchmarks: BenchmarkRow[];
  paper: PaperComparison[] | null;
  evals: EvalResult[];
} {
  const recipe = store.recipe();
  const evals = readEvals(store, roundCount(recipe));
  return {
    benchmarks: benchmarkRows(evals),
    paper: recipe.eval.compare_with_paper ? paperComparison(evals) : null,
    evals,
  };
}

/** The markdown of `report.md`: the results table, the benchmarks, then held-out accuracy by task per evaluated round. */
export function reportMarkdown(
  runId: string,
  rounds: RoundResult[],
  evals: EvalResult[],
  sections: string[] = [],
): string {
  const lines = [
    `# IPA report — ${runId}`,
    '',
    '## Rounds',
    '',
    resultsTable(rounds),
    '',
    ...sections,
    '## Held-out accuracy by task type',
    '',
  ];
  const tasks = [...new Set(evals.flatMap((e) => Object.keys(e.by_task)))].sort();
  if (tasks.length) {
    lines.push(
      `| round | ${tasks.join(' | ')} | overall | n |`,
      `|${Array(tasks.length + 3)
        .fill('---')
        .join('|')}|`,
    );
    for (const e of evals.filter((x) => x.overall !== null))
      lines.push(`| ${e.round} | ${tasks.map((t) => pct(e.by_task[t])).join(' | ')} | ${pct(e.overall)} | ${e.n} |`);
  } else {
    lines.push('–');
  }
  lines.push(...familySection(rounds));
  lines.push(
    '',
    'Round 0 is the initial model (before any preference round); “–” marks numbers this run has not produced.',
    '',
  );
  return lines.join('\n');
}

/** The premise task per requirement family and round: fact accuracy / compliance / success. */
export function familySection(rounds: RoundResult[]): string[] {
  const evaluated = rounds.filter((r) => Object.keys(r.by_family).length);
  const families = [...new Set(evaluated.flatMap((r) => Object.keys(r.by_family)))].sort();
  if (!families.length) return [];
  const lines = [
    '',
    '## Premise task by family: fact accuracy / compliance / success',
    '',
    `| round | ${families.join(' | ')} |`,
    `|${Array(families.length + 1)
      .fill('---')
      .join('|')}|`,
  ];
  for (const r of evaluated) {
    const cell = (f: string) =>
      r.by_family[f]
        ? `${pct(r.by_family[f].fact_accuracy)} / ${pct(r.by_family[f].compliance)} / ${pct(r.by_family[f].success)}`
        : '–';
    lines.push(`| ${r.round} | ${families.map(cell).join(' | ')} |`);
  }
  return lines;
}

export function reportInput(store: RunStore, runId: string): ReportInput {
  const recipe = store.recipe();
  const rounds = roundResults(store);
  const last = roundCount(recipe);
  const curves: Record<string, MarginPoint[]> = {};
  for (const c of readCurves(store, last)) {
    if (c.model !== 'policy') continue;
    const points = c.points
      .filter((p) => p.margins !== null)
      .map((p) => ({ step: p.step, margin: p.margins as number }));
    if (points.length) curves[String(c.round)] = points;
  }
  const { benchmarks, paper, evals } = benchmarkReport(store);
  return {
    run_id: runId,
    rounds,
    benchmarks,
    paper,
    markdown: reportMarkdown(runId, rounds, evals, benchmarkSections(benchmarks, paper)),
    curves,
    heldout_note: heldoutNote(recipe, rounds, evals),
  };
}

/** Writes `results.json` atomically into the run directory; returns its absolute path. */
export function writeReportInput(store: RunStore, runId: string): string {
  const path = store.abs(RESULTS_FILE);
  atomicWriteJson(path, reportInput(store, runId));
  return path;
}
