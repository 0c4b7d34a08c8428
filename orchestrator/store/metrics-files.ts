/**
 * Readers of a run's training curves (`round-<r>/train_metrics.jsonl`) and evaluation results
 * (`eval/round-<r>.json`), shared by the results report and the dashboard. Both tolerate a file
 * being written at the same moment: a half-written line is skipped, not fatal.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evalFile, roundDir } from '../plan/paths.js';
import { staysInside } from '../real-path.js';
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

export interface EvalResult {
  round: number;
  overall: number | null;
  by_task: Record<string, number>;
  by_benchmark: Record<string, number>;
  n: number;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A file of the run, or null where it is missing or a link leads it out of the run directory. */
function runFile(store: RunStore, rel: string): string | null {
  const path = store.abs(rel);
  return existsSync(path) && staysInside(path, store.dir) ? path : null;
}

function jsonLines(path: string | null): unknown[] {
  if (path === null) return [];
  const out: unknown[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
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
    for (const row of jsonLines(runFile(store, join(roundDir(r), 'train_metrics.jsonl')))) {
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
    for (const [model, points] of [...byModel].sort(([a], [b]) => a.localeCompare(b))) curves.push({ round: r, model, points: points.sort((a, b) => a.step - b.step) });
  }
  return curves;
}

/** `eval/round-<r>.json` for each round that has one (round 0 = the initial model). */
export function readEvals(store: RunStore, rounds: number): EvalResult[] {
  const out: EvalResult[] = [];
  for (let r = 0; r <= rounds; r++) {
    const p = runFile(store, evalFile(r));
    if (p === null) continue;
    try {
      const e = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
      out.push({
        round: r,
        overall: num(e.overall),
        by_task: (e.by_task as Record<string, number>) ?? {},
        by_benchmark: (e.by_benchmark as Record<string, number>) ?? {},
        n: num(e.n) ?? 0,
      });
    } catch {
      // written atomically, so unreadable means corrupt: show nothing rather than fail the page
    }
  }
  return out;
}

