/**
 * Every benchmark a run evaluated, per round: baseline (round 0, the starting model) → the last
 * evaluated round, from the eval files of both backends (the built-in evaluator and lmms-eval).
 * Shown by `ipa status`, the report and the dashboard; computed here only.
 */
import type { BenchmarkMeasure, EvalResult } from '../store/metrics-files.js';

export interface BenchmarkRow {
  benchmark: string;
  backend: BenchmarkMeasure['backend'];
  /** The headline metric (lmms-eval's name), `accuracy` for the built-in evaluator. */
  metric: string | null;
  higher_is_better: boolean | null;
  /** Value per evaluated round, keyed by round number. */
  values: Record<string, number | null>;
  baseline: number | null;
  final: number | null;
  final_round: number | null;
  /** final − baseline, in the metric's own unit. */
  change: number | null;
}

/** One row per benchmark, in the order the evaluations list them (built-in first). */
export function benchmarkRows(evals: EvalResult[]): BenchmarkRow[] {
  const names = [...new Set(evals.flatMap((e) => Object.keys(e.benchmarks)))];
  return names.map((name) => {
    const seen = evals.filter((e) => name in e.benchmarks);
    const first = seen[0].benchmarks[name];
    const values = Object.fromEntries(seen.map((e) => [String(e.round), e.benchmarks[name].value]));
    const base = seen.find((e) => e.round === 0)?.benchmarks[name].value ?? null;
    const last = [...seen].reverse().find((e) => e.round > 0);
    const final = last?.benchmarks[name].value ?? null;
    return {
      benchmark: name,
      backend: first.backend,
      metric: first.metric,
      higher_is_better: first.higher_is_better,
      values,
      baseline: base,
      final,
      final_round: last?.round ?? null,
      change: base !== null && final !== null ? final - base : null,
    };
  });
}

/** A number as people read it: built-in accuracies in percent, other metrics to 4 significant digits. */
export function formatValue(v: number | null, backend: BenchmarkMeasure['backend']): string {
  if (v === null || !Number.isFinite(v)) return '–';
  return backend === 'builtin' ? `${(100 * v).toFixed(1)}%` : String(Number(v.toPrecision(4)));
}

export function formatChange(v: number | null, backend: BenchmarkMeasure['backend']): string {
  if (v === null || !Number.isFinite(v)) return '–';
  const sign = v > 0 ? '+' : v < 0 ? '−' : '±';
  return backend === 'builtin'
    ? `${sign}${Math.abs(100 * v).toFixed(1)} pt`
    : `${sign}${Number(Math.abs(v).toPrecision(4))}`;
}

/** A row's numbers as the tables show them (the dashboard takes these as they are). */
export function shownValues(r: BenchmarkRow): { values: Record<string, string>; change: string } {
  return {
    values: Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, formatValue(v, r.backend)])),
    change: formatChange(r.change, r.backend),
  };
}

/** Markdown: benchmark, backend and metric, one column per evaluated round, change baseline → final. */
export function benchmarkTable(rows: BenchmarkRow[]): string {
  const rounds = [...new Set(rows.flatMap((r) => Object.keys(r.values).map(Number)))].sort((a, b) => a - b);
  const head = [
    'benchmark',
    'backend',
    'metric',
    ...rounds.map((r) => (r === 0 ? 'round 0 (baseline)' : `round ${r}`)),
    'change',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const shown = shownValues(r);
    const cells = [
      r.benchmark,
      r.backend === 'builtin' ? 'built-in' : 'lmms-eval',
      r.metric ?? '–',
      ...rounds.map((k) => shown.values[String(k)] ?? '–'),
      shown.change,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Whether a run's benchmarks say more than the results table's held-out column already does. */
export function hasBenchmarksBeyondHeldout(rows: BenchmarkRow[]): boolean {
  return rows.some((r) => r.backend === 'lmms_eval' || r.benchmark !== 'synthetic');
}
