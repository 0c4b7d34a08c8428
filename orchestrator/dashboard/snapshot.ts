/**
 * What the dashboard shows about a run, assembled from the run directory only (the source of
 * truth): the manifest and results table exactly as `ipa status` computes them, plus curves,
 * evaluations and recent errors. Also a cheap fingerprint so pollers rebuild only on change.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { roundDir } from '../plan/paths.js';
import { hasBenchmarksBeyondHeldout, shownValues, type BenchmarkRow } from '../report/benchmark-results.js';
import type { PaperComparison } from '../report/paper-figures.js';
import { benchmarkReport, heldoutNote } from '../report/report-input.js';
import { roundResults, type RoundResult } from '../report/results.js';
import { buildManifest, type Manifest } from '../store/manifest.js';
import { RunStore, type RunInfo } from '../store/run-store.js';
import { readCurves, type Curve, type EvalResult } from '../store/metrics-files.js';
import { latestErrors, type LogError } from './run-files.js';

export interface RunSnapshot {
  run: RunInfo;
  manifest: Manifest;
  results: RoundResult[];
  curves: Curve[];
  eval: EvalResult[];
  /** Why a completed run has no evaluation to show (else null: "No evaluation yet." while it runs). */
  eval_note: string | null;
  /** Benchmarks beyond the held-out column (lmms-eval tasks, local benchmarks), with their shown numbers. */
  benchmarks: Array<BenchmarkRow & { shown: ReturnType<typeof shownValues> }>;
  /** The paper's figures beside ours, when the recipe compares with them. */
  paper: PaperComparison[] | null;
  errors: LogError[];
  /** Done jobs over planned jobs (rounds not yet opened are not planned yet). */
  progress: { done: number; jobs: number; fraction: number };
}

/** A run in the list: its info plus overall progress. */
export interface RunListEntry extends RunInfo {
  progress: { done: number; jobs: number; fraction: number };
}

function progressOf(m: Manifest): RunSnapshot['progress'] {
  return { done: m.totals.done, jobs: m.totals.jobs, fraction: m.totals.jobs ? m.totals.done / m.totals.jobs : 0 };
}

/** What the evaluation panel says instead of a table: a reason once the run has completed. */
export function evalNote(state: RunInfo['state'], note: () => string | null, evals: EvalResult[]): string | null {
  return state === 'completed' && evals.length === 0 ? note() : null;
}

export function runSnapshot(store: RunStore): RunSnapshot {
  const manifest = buildManifest(store);
  const rounds = manifest.rounds.length - 1;
  const { benchmarks, paper, evals } = benchmarkReport(store);
  const results = roundResults(store);
  return {
    run: manifest.run,
    manifest,
    results,
    curves: readCurves(store, rounds),
    eval: evals,
    eval_note: evalNote(manifest.run.state, () => heldoutNote(store.recipe(), results, evals), evals),
    benchmarks: hasBenchmarksBeyondHeldout(benchmarks) ? benchmarks.map((b) => ({ ...b, shown: shownValues(b) })) : [],
    paper,
    errors: latestErrors(store),
    progress: progressOf(manifest),
  };
}

/** Every run under `runsDir`, newest first; a run whose files are mid-write is listed without progress. */
export function listRuns(runsDir: string): RunListEntry[] {
  return RunStore.list(runsDir)
    .reverse()
    .map((info) => {
      try {
        return { ...info, progress: progressOf(buildManifest(new RunStore(join(runsDir, info.id)))) };
      } catch {
        return { ...info, progress: { done: 0, jobs: 0, fraction: 0 } };
      }
    });
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A run by exact id or unique id prefix, only ever inside `runsDir`: unlike `RunStore.find`, a
 * request cannot name an arbitrary directory.
 */
export function findRunIn(runsDir: string, id: string): RunStore | undefined {
  if (!SAFE_ID.test(id) || id.includes('..')) return undefined;
  if (RunStore.isRunDir(join(runsDir, id))) return new RunStore(join(runsDir, id));
  const matches = RunStore.list(runsDir).filter((r) => r.id.startsWith(id));
  return matches.length === 1 ? new RunStore(join(runsDir, matches[0].id)) : undefined;
}

function dirStamp(dir: string): string {
  if (!existsSync(dir)) return '-';
  const parts: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    try {
      const s = statSync(join(dir, f));
      parts.push(`${f}:${s.size}:${s.mtimeMs}`);
    } catch {
      parts.push(`${f}:gone`);
    }
  }
  return parts.join(',');
}

function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return '-';
  }
}

/**
 * Changes whenever a file the snapshot reads changes (sizes and mtimes only, no contents): run.json,
 * job records and attempts, logs, eval files, seed shards and training metrics of every round.
 */
export function runFingerprint(store: RunStore): string {
  const parts = [fileStamp(store.abs('run.json')), dirStamp(store.abs('jobs')), dirStamp(store.abs('logs')), dirStamp(store.abs('eval'))];
  for (const d of existsSync(store.dir) ? readdirSync(store.dir).filter((f) => /^round-\d+$/.test(f)).sort() : []) {
    const r = Number(d.slice(6));
    parts.push(d, dirStamp(store.abs(join(roundDir(r), 'seeds'))), fileStamp(store.abs(join(roundDir(r), 'train_metrics.jsonl'))));
  }
  return parts.join('|');
}

/** Changes when a run appears, disappears or changes under `runsDir`. */
export function runsFingerprint(runsDir: string): string {
  if (!existsSync(runsDir)) return '-';
  return readdirSync(runsDir)
    .filter((d) => RunStore.isRunDir(join(runsDir, d)))
    .sort()
    .map((d) => `${d}=${runFingerprint(new RunStore(join(runsDir, d)))}`)
    .join('\n');
}
