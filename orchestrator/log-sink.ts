/**
 * Where pino's lines go (a pino destination: an object with `write`). Two places:
 * - the console (stderr): human lines by default, the JSON itself with `--log-format json`,
 *   written through a function the CLI may replace so a live progress line is redrawn around them;
 * - each run's `logs/orchestrator.jsonl`: every line that names the run (its `run` field), in JSON,
 *   whatever the console shows. A command driving one run also files its lines without a run there.
 * A line about one job (its `job` field: the agent's `jobLogger`) also goes, as words, to that
 * job's `logs/<job-id>.log` beside its Python output, so every job — a Node `advance`, a job
 * found already done, a try that failed before Python said anything — has a log saying what
 * happened to it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { humanLogLine, LEVELS } from './log-format.js';
import { DIR_MODE, FILE_MODE } from './file-modes.js';
import { staysInside } from './real-path.js';
import { appendRegular } from './regular-file.js';

export type LogFormat = 'human' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['human', 'json'];

export interface ConsoleOptions {
  /** @defaultValue 'human' */
  format?: LogFormat;
  /** Prints one finished line (no newline). @defaultValue a write to stderr */
  writeLine?: (text: string) => void;
  /** Whether the console shows an entry (the run file gets it anyway). @defaultValue every entry */
  show?: (entry: Record<string, unknown>) => boolean;
}

/** The file of a run directory that holds the orchestrator's JSON log lines about the run. */
export const ORCHESTRATOR_LOG = join('logs', 'orchestrator.jsonl');

/** A job id as the planner makes them (`<run>.r<round>.<stage>.s<shard>`): a file name, never a path. */
const SAFE_JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const toStderr = (text: string) => void process.stderr.write(`${text}\n`);

export class LogSink {
  private format: LogFormat = 'human';
  private writeLine: (text: string) => void = toStderr;
  private show: (entry: Record<string, unknown>) => boolean = () => true;
  private readonly runDirs = new Map<string, string>();
  /** The run whose file also takes lines that name no run. */
  private driven?: string;

  configureConsole(opts: ConsoleOptions): void {
    this.format = opts.format ?? 'human';
    this.writeLine = opts.writeLine ?? toStderr;
    this.show = opts.show ?? (() => true);
  }

  /** Files lines about `runId` into `<dir>/logs/orchestrator.jsonl`; with `driving`, lines about no run too. */
  routeRun(runId: string, dir: string, opts: { driving?: boolean } = {}): void {
    this.runDirs.set(runId, dir);
    if (opts.driving) this.driven = runId;
  }

  /** Called by pino with one JSON line per entry. Never throws: logging must not fail the work. */
  write(line: string): void {
    const text = line.endsWith('\n') ? line.slice(0, -1) : line;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(text) as Record<string, unknown>;
    } catch {
      entry = { msg: text };
    }
    try {
      if (this.show(entry)) this.writeLine(this.format === 'json' ? text : humanLogLine(entry));
    } catch {
      // a closed terminal: the run file below still gets the line
    }
    this.toRunFile(entry, text);
    this.toJobFile(entry);
  }

  private runDir(entry: Record<string, unknown>): string | undefined {
    const runId = typeof entry.run === 'string' ? entry.run : this.driven;
    const dir = runId ? this.runDirs.get(runId) : undefined;
    // A run directory removed under us (a test cleaning up) is not created again.
    return dir && existsSync(dir) ? dir : undefined;
  }

  private toJobFile(entry: Record<string, unknown>): void {
    const job = entry.job;
    // Info and above only (debug lines repeat the Python log lines the file already holds).
    if (
      typeof job !== 'string' ||
      !SAFE_JOB_ID.test(job) ||
      typeof entry.run !== 'string' ||
      Number(entry.level) < LEVELS.info
    )
      return;
    const dir = this.runDir(entry);
    const file = join('logs', `${job}.log`);
    if (!dir || !staysInside(join(dir, file), dir)) return;
    // The file is the job's own: the place ("round 1 · sample · shard 2: ") its lines start with elsewhere goes.
    const place = typeof entry.place === 'string' ? `${entry.place}: ` : '';
    const msg =
      typeof entry.msg === 'string' && place && entry.msg.startsWith(place) ? entry.msg.slice(place.length) : entry.msg;
    try {
      mkdirSync(join(dir, 'logs'), { recursive: true, mode: 0o750 });
      appendRegular(join(dir, file), `${humanLogLine({ ...entry, msg })}\n`, 0o640);
    } catch {
      // as for the run file
    }
  }

  private toRunFile(entry: Record<string, unknown>, text: string): void {
    const dir = this.runDir(entry);
    if (!dir) return;
    // A `logs` link leading out of the run gets nothing: every write stays inside the run.
    if (!staysInside(join(dir, ORCHESTRATOR_LOG), dir)) return;
    try {
      mkdirSync(join(dir, 'logs'), { recursive: true, mode: DIR_MODE });
      appendRegular(join(dir, ORCHESTRATOR_LOG), `${text}\n`, FILE_MODE);
    } catch {
      // a full or read-only disk: the job itself reports that where it matters
    }
  }
}
