/**
 * Readers of a run's training curves (`round-<r>/train_metrics.jsonl`) and evaluation results
 * (`eval/round-<r>.json`), shared by the results report and the dashboard. Both tolerate a file
 * being written at the same moment: a half-written line is skipped, not fatal.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { evalFile, roundDir } from '../plan/paths.js';
import { staysInside } from '../real-path.js';
import { readRegularText } from '../regular-file.js';
import type { RunStore } from './run-store.js';

export interface CurvePoint {
  step: number;
  loss: number | null;
  chosen: number | null;
  rejected: number | null;
  margins: number | null;
  accuracies: number | null;
}

/** One training run's logged steps: a round's policy or reviser adapter. */
export interface Curve {
  round: number;
  model: string;
  points: CurvePoint[];
}

/** How one benchmark's number was measured (`benchmarks[name]` of an eval file). */
export interface BenchmarkMeasure {
  backend: 'builtin' | 'lmms_eval';
  kind: 'task' | 'group';
  /** Metric name as the backend reports it (`accuracy` for the built-in evaluator). */
  metric: string | null;
  value: number | null;
  higher_is_better: boolean | null;
  n: number | null;
  /** Every metric the backend reported for it (lmms-eval), by name. */
  metrics: Record<string, number>;
}

export interface EvalResult {
  round: number;
  /** Item accuracy over the built-in benchmarks; null when the round had none. */
  overall: number | null;
  by_task: Record<string, number>;
  by_benchmark: Record<string, number | null>;
  benchmarks: Record<string, BenchmarkMeasure>;
  n: number;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A file of the run, or null where it is missing or a link leads it out of the run directory. */
function runFile(store: RunStore, rel: string): string | null {
  const path = store.abs(rel);
  return existsSync(path) && staysInside(path, store.dir) ? path : null;
}

/** The text of a run file, or null where it is missing, leaves the run, or is not a regular file (a pipe is never read). */
function runText(store: RunStore, rel: string): string | null {
  const path = runFile(store, rel);
  if (path === null) return null;
  try {
    return readRegularText(path);
  } catch {
    return null;
  }
}

/**
 * A JSON object file of the run (`eval/round-<r>.json`), or undefined where `runText` gives
 * nothing or it does not parse (written atomically, so unparseable means corrupt).
 */
export function readRunJson(store: RunStore, rel: string): Record<string, unknown> | undefined {
  const text = runText(store, rel);
  if (text === null) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function jsonLines(text: string | null): unknown[] {
  if (text === null) return [];
  const out: unknown[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // the writer may be mid-line; the next poll sees it whole
    }
  }
  return out;
}

/** Curves of rounds 1..rounds from `round-<r>/train_metrics.jsonl`, one per (round, model). */
export function readCurves(store: RunStore, rounds: number): Curve[] {
  const curves: Curve[] = [];
  for (let r = 1; r <= rounds; r++) {
    const byModel = new Map<string, CurvePoint[]>();
    for (const row of jsonLines(runText(store, join(roundDir(r), 'train_metrics.jsonl')))) {
      if (!row || typeof row !== 'object') continue;
      const m = row as Record<string, unknown>;
      const step = num(m.step);
      if (step === null) continue;
      const model = typeof m.model === 'string' ? m.model : 'policy';
      const points = byModel.get(model) ?? [];
      points.push({
        step,
        loss: num(m.loss),
        chosen: num(m['rewards/chosen']),
        rejected: num(m['rewards/rejected']),
        margins: num(m['rewards/margins']),
        accuracies: num(m['rewards/accuracies']),
      });
      byModel.set(model, points);
    }
    for (const [model, points] of [...byModel].sort(([a], [b]) => a.localeCompare(b)))
      curves.push({ round: r, model, points: points.sort((a, b) => a.step - b.step) });
  }
  return curves;
}

/**
 * The `benchmarks` of an eval file; files written before it existed held built-in accuracies
 * only, so their `by_benchmark` numbers are read as such.
 */
function measures(raw: unknown, byBenchmark: Record<string, number | null>): Record<string, BenchmarkMeasure> {
  const out: Record<string, BenchmarkMeasure> = {};
  const given = raw && typeof raw === 'object' ? (raw as Record<string, Record<string, unknown>>) : {};
  for (const [name, value] of Object.entries(byBenchmark)) {
    const m = given[name] ?? {};
    const metrics = m.metrics && typeof m.metrics === 'object' ? (m.metrics as Record<string, unknown>) : {};
    out[name] = {
      backend: m.backend === 'lmms_eval' ? 'lmms_eval' : 'builtin',
      kind: m.kind === 'group' ? 'group' : 'task',
      metric: typeof m.metric === 'string' ? m.metric : m.backend === 'lmms_eval' ? null : 'accuracy',
      value: num(value),
      higher_is_better: typeof m.higher_is_better === 'boolean' ? m.higher_is_better : null,
      n: num(m.n),
      metrics: Object.fromEntries(Object.entries(metrics).filter((e): e is [string, number] => num(e[1]) !== null)),
    };
  }
  return out;
}

/** `eval/round-<r>.json` for each round that has one (round 0 = the initial model). */
export function readEvals(store: RunStore, rounds: number): EvalResult[] {
  const out: EvalResult[] = [];
  for (let r = 0; r <= rounds; r++) {
    const e = readRunJson(store, evalFile(r));
    if (!e) continue;
    try {
      const byBenchmark = (e.by_benchmark as Record<string, number | null>) ?? {};
      out.push({
        round: r,
        overall: num(e.overall),
        by_task: (e.by_task as Record<string, number>) ?? {},
        by_benchmark: byBenchmark,
        benchmarks: measures(e.benchmarks, byBenchmark),
        n: num(e.n) ?? 0,
      });
    } catch {
      // written atomically, so unreadable means corrupt: show nothing rather than fail the page
    }
  }
  return out;
}
