/** Summaries and rows: medians over repetitions, ratios of medians, goal checks. */
import type { Goal, Row, Stats } from './types.js';

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

export const atLeast = (value: number): Goal => ({ op: '>=', value, text: `≥ ${value}×` });
export const atMost = (value: number): Goal => ({ op: '<=', value, text: `≤ ${value}×` });

export function row(
  metric: string,
  unit: string,
  ours: readonly number[] | Stats,
  baseline: readonly number[] | Stats,
  goal?: Goal,
  ratio?: { value: number; note: string },
): Row {
  const o = 'median' in ours ? ours : stats(ours);
  const b = 'median' in baseline ? baseline : stats(baseline);
  const r = ratio?.value ?? o.median / b.median;
  const status = !goal ? 'info' : (goal.op === '>=' ? r >= goal.value : r <= goal.value) ? 'PASS' : 'MISS';
  return {
    metric,
    unit,
    ours: o,
    baseline: b,
    ratio: r,
    ...(ratio ? { ratio_note: ratio.note } : {}),
    ...(goal ? { goal } : {}),
    status,
  };
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const now = (): number => performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
