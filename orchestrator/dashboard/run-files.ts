/**
 * Readers for the run-directory files the dashboard shows beyond the manifest: training curves,
 * evaluation results, and error blocks (with tracebacks) from job logs. Every reader tolerates a
 * file being written at the same moment: a half-written line is skipped, not fatal.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { evalFile, roundDir } from '../plan/paths.js';
import { jobLogFiles } from '../store/log-tail.js';
import type { RunStore } from '../store/run-store.js';

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

export interface LogError {
  job_id: string;
  /** The log file's modification time: when the error was (last) written. */
  at: string;
  headline: string;
  /** The whole block: headline, traceback and final exception line. */
  text: string;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function jsonLines(path: string): unknown[] {
  if (!existsSync(path)) return [];
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
    for (const row of jsonLines(store.abs(join(roundDir(r), 'train_metrics.jsonl')))) {
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
    const p = store.abs(evalFile(r));
    if (!existsSync(p)) continue;
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

/** Reads at most the last `max` bytes: logs can be large, errors are at their end. */
function tail(path: string, max: number): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - max);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    return start > 0 ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    closeSync(fd);
  }
}

/** A line that opens an error: the agent's `<Type>: message` lines, Python exceptions, ERROR log lines. */
const HEADLINE = /^(BadInput|OutOfMemory|Cancelled|Internal|[A-Za-z_][\w.]*(Error|Exception)):|^Traceback \(most recent call last\):|\bERROR\b|"level"\s*:\s*"(error|fatal)"/;
const CHAINED = /^(During handling of the above exception|The above exception was the direct cause)/;
const MAX_BLOCK_LINES = 200;

/**
 * Splits a log into error blocks. A block is a headline plus the traceback that follows it:
 * indented frames, the final exception line, and chained tracebacks.
 */
export function errorBlocks(text: string): string[] {
  const lines = text.split('\n');
  const blocks: string[] = [];
  let i = 0;
  while (i < lines.length) {
    if (!HEADLINE.test(lines[i])) {
      i++;
      continue;
    }
    const block = [lines[i]];
    let inTraceback = lines[i].startsWith('Traceback');
    let j = i + 1;
    while (j < lines.length && block.length < MAX_BLOCK_LINES) {
      const l = lines[j];
      if (l.startsWith('Traceback (most recent call last):')) inTraceback = true;
      else if (inTraceback && /^\s+\S/.test(l)) {
        // a frame or its source line
      } else if (inTraceback && l.trim() && !/^\s/.test(l)) {
        // the exception line closes this traceback; a chained one may follow after a blank line
        block.push(l);
        j++;
        inTraceback = false;
        if (lines[j] === '' && CHAINED.test(lines[j + 1] ?? '')) {
          block.push('', lines[j + 1]);
          j += 2;
          if (lines[j] === '') j++;
        }
        continue;
      } else if (!inTraceback && /^\s+\S/.test(l)) {
        // continuation of a multi-line message
      } else break;
      block.push(l);
      j++;
    }
    blocks.push(block.join('\n').trimEnd());
    i = j;
  }
  return blocks;
}

/** The last error of each job's log, newest first, at most `limit`. */
export function latestErrors(store: RunStore, limit = 10): LogError[] {
  const found: LogError[] = [];
  for (const { job, path } of jobLogFiles(store)) {
    let mtime: Date;
    try {
      mtime = statSync(path).mtime;
    } catch {
      continue; // removed between listing and stat
    }
    const blocks = errorBlocks(tail(path, 256 * 1024));
    const last = blocks[blocks.length - 1];
    if (last) found.push({ job_id: job, at: mtime.toISOString(), headline: last.split('\n')[0], text: last });
  }
  return found.sort((a, b) => b.at.localeCompare(a.at) || a.job_id.localeCompare(b.job_id)).slice(0, limit);
}
