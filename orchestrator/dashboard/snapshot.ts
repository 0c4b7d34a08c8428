/**
 * What the dashboard shows about a run, assembled from the run directory only (the source of
 * truth): the manifest and results table exactly as `ipa status` computes them, plus curves,
 * evaluations, recent errors and damage found without hashing. A run whose run.json or recipe.json
 * is damaged gets its reason instead; the list shows it beside the others.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hasBenchmarksBeyondHeldout, shownValues, type BenchmarkRow } from '../report/benchmark-results.js';
import type { PaperComparison } from '../report/paper-figures.js';
import { benchmarkReport, heldoutNote } from '../report/report-input.js';
import { roundResults, type RoundResult } from '../report/results.js';
import { runningWords } from '../report/stage-words.js';
import { RunDamaged } from '../store/damage.js';
import { scanRun, type Damage } from '../store/integrity.js';
import { liveJobProgress, type LiveJob } from '../store/job-progress.js';
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
  /** Problems in the run directory that need no hashing (unreadable records, missing outputs, stray files). */
  damage: Damage[];
  /** Done jobs over planned jobs (rounds not yet opened are not planned yet). */
  progress: { done: number; jobs: number; fraction: number };
  /** The jobs running now, from their progress files (whoever runs them; no Redis needed), as `ipa status --json` lists them. */
  running: Array<LiveJob & { words: string }>;
}

/** What the page gets for a run whose run.json or recipe.json cannot be read. */
export interface DamagedSnapshot {
  run: { id: string; state: 'damaged' };
  damaged: string;
}

/** A run in the list: its info plus overall progress, or (`damaged`) why it cannot be read. */
export type RunListEntry = Partial<RunInfo> & {
  id: string;
  progress: { done: number; jobs: number; fraction: number };
  damaged?: string;
};

function progressOf(m: Manifest): RunSnapshot['progress'] {
  return { done: m.totals.done, jobs: m.totals.jobs, fraction: m.totals.jobs ? m.totals.done / m.totals.jobs : 0 };
}

/** What the evaluation panel says instead of a table: a reason once the run has completed. */
export function evalNote(state: RunInfo['state'], note: () => string | null, evals: EvalResult[]): string | null {
  return state === 'completed' && evals.length === 0 ? note() : null;
}

export function runSnapshot(store: RunStore): RunSnapshot | DamagedSnapshot {
  let manifest: Manifest;
  try {
    store.info(); // run.json first: its problem is the one to name
    manifest = buildManifest(store);
  } catch (err) {
    if (err instanceof RunDamaged)
      return { run: { id: store.id, state: 'damaged' }, damaged: `${err.file}: ${err.reason}` };
    throw err;
  }
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
    damage: scanRun(store, { files: false, folders: false }),
    progress: progressOf(manifest),
    running: liveJobProgress(store).map((j) => ({ ...j, words: runningWords(j, Date.now()) })),
  };
}

const NO_PROGRESS = { done: 0, jobs: 0, fraction: 0 };

/** The list entry of run folder `id`: a damaged run is listed with its reason, never dropped. */
export function listEntry(runsDir: string, id: string): RunListEntry {
  const store = new RunStore(join(runsDir, id));
  let info: RunInfo;
  try {
    info = store.info();
  } catch (err) {
    if (err instanceof RunDamaged) return { id, progress: NO_PROGRESS, damaged: `${err.file}: ${err.reason}` };
    throw err;
  }
  try {
    return { ...info, progress: progressOf(buildManifest(store)) };
  } catch (err) {
    // recipe.json damaged, or a file caught mid-write: listed without progress.
    return {
      ...info,
      progress: NO_PROGRESS,
      ...(err instanceof RunDamaged ? { damaged: `${err.file}: ${err.reason}` } : {}),
    };
  }
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A run by exact id or unique id prefix, only ever inside `runsDir`: unlike `RunStore.find`, a
 * request cannot name an arbitrary directory. Folder names only: no run file is read.
 */
export function findRunIn(runsDir: string, id: string): RunStore | undefined {
  if (!SAFE_ID.test(id) || id.includes('..')) return undefined;
  if (RunStore.isRunDir(join(runsDir, id))) return new RunStore(join(runsDir, id));
  if (!existsSync(runsDir)) return undefined;
  const matches = readdirSync(runsDir).filter((d) => d.startsWith(id) && RunStore.isRunDir(join(runsDir, d)));
  return matches.length === 1 ? new RunStore(join(runsDir, matches[0])) : undefined;
}
