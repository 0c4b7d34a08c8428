/**
 * The input of the Python `report` stage, `<run_dir>/results.json`: the per-round results exactly
 * as `roundResults` computes them for `ipa status` and the dashboard, the whole `report.md` text
 * rendered from those rows, and the policy's DPO reward-margin curves. The results table is
 * computed here and only here; Python writes the markdown out as is and draws the plot.
 */
import { readCurves, readEvals, type EvalResult } from '../store/metrics-files.js';
import { roundCount } from '../plan/planner.js';
import { atomicWriteJson } from '../store/atomic.js';
import type { RunStore } from '../store/run-store.js';
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
  markdown: string;
  /** Policy DPO margins by round (`"1"`, `"2"`, ...), from `round-<r>/train_metrics.jsonl`. */
  curves: Record<string, MarginPoint[]>;
}

const pct = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '–');

/** The markdown of `report.md`: the results table, then held-out accuracy by task per evaluated round. */
export function reportMarkdown(runId: string, rounds: RoundResult[], evals: EvalResult[]): string {
  const lines = [`# IPA report — ${runId}`, '', '## Rounds', '', resultsTable(rounds), '', '## Held-out accuracy by task type', ''];
  const tasks = [...new Set(evals.flatMap((e) => Object.keys(e.by_task)))].sort();
  if (tasks.length) {
    lines.push(`| round | ${tasks.join(' | ')} | overall | n |`, `|${Array(tasks.length + 3).fill('---').join('|')}|`);
    for (const e of evals) lines.push(`| ${e.round} | ${tasks.map((t) => pct(e.by_task[t])).join(' | ')} | ${pct(e.overall)} | ${e.n} |`);
  } else {
    lines.push('–');
  }
  lines.push('', 'Round 0 is the initial model (before any preference round); “–” marks numbers this run has not produced.', '');
  return lines.join('\n');
}

export function reportInput(store: RunStore, runId: string): ReportInput {
  const rounds = roundResults(store);
  const last = roundCount(store.recipe());
  const curves: Record<string, MarginPoint[]> = {};
  for (const c of readCurves(store, last)) {
    if (c.model !== 'policy') continue;
    const points = c.points.filter((p) => p.margins !== null).map((p) => ({ step: p.step, margin: p.margins as number }));
    if (points.length) curves[String(c.round)] = points;
  }
  return { run_id: runId, rounds, markdown: reportMarkdown(runId, rounds, readEvals(store, last)), curves };
}

/** Writes `results.json` atomically into the run directory; returns its absolute path. */
export function writeReportInput(store: RunStore, runId: string): string {
  const path = store.abs(RESULTS_FILE);
  atomicWriteJson(path, reportInput(store, runId));
  return path;
}
