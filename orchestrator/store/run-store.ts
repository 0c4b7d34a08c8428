/**
 * The run directory: the data plane's source of truth (docs/ARCHITECTURE.md).
 *
 * Done records (`jobs/<job-id>.json`) are written once per finished job, after its outputs; a job
 * is done exactly when its record exists and its outputs are present, whatever Redis says. Each
 * job owns its record file, so workers never contend for one shared manifest; `manifest.json` is a
 * summary derived from the records.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ExitCode, IpaError } from '../errors.js';
import { isSafeRunId } from '../plan/stages.js';
import { withoutMovedSettings } from '../recipe/moved.js';
import { RecipeSchema, type Recipe } from '../recipe/schema.js';
import { atomicWrite, atomicWriteJson, ensureDir, FILE_MODE } from './atomic.js';
import { readJsonObject, RunDamaged } from './damage.js';
import { checkOutput } from './integrity.js';
import { appendRegular, NotRegularFile, readRegularText } from '../regular-file.js';
import { runFolder } from './run-links.js';
import { staysInside } from '../real-path.js';

export const RUN_STATES = ['queued', 'running', 'paused', 'interrupted', 'failed', 'completed', 'cancelled'] as const;
export type RunState = (typeof RUN_STATES)[number];
/** States only `resume` (`force`) leaves. */
export const FINAL_STATES: ReadonlySet<RunState> = new Set<RunState>(['failed', 'completed', 'cancelled']);
/**
 * States in which nothing more happens until a person acts: the final ones, and `interrupted`
 * (Ctrl-C stopped the `ipa run` driving it). Waiting and following end there.
 */
export const ENDED_STATES: ReadonlySet<RunState> = new Set<RunState>([...FINAL_STATES, 'interrupted']);

export interface RunInfo {
  id: string;
  name: string;
  created_at: string;
  updated_at: string;
  state: RunState;
  queue_prefix: string;
  rounds: number;
  recipe_file: string;
  error?: string;
}

export interface OutputRecord {
  path: string;
  rows: number;
  sha256?: string;
}

export interface DoneRecord {
  job_id: string;
  stage: string;
  round: number;
  shard: number;
  outputs: Record<string, OutputRecord>;
  metrics: Record<string, unknown>;
  failed_items: Array<{ id?: string; reason: string }>;
  attempts: number;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  worker: string;
}

export interface AttemptEntry {
  attempt: number;
  worker: string;
  started_at: string;
  /** The batch fraction of this try (halved after each CUDA out-of-memory). */
  batch_scale?: number;
}

/** A run under the runs directory: its info, or why its run.json cannot be read. */
export interface RunListing {
  id: string;
  dir: string;
  info?: RunInfo;
  /** Set when run.json is damaged: the file and the reason. */
  damaged?: string;
}

/** What the user can do about a damaged run.json or recipe.json. */
const RUN_FILE_HINT = 'restore the file from a backup; recipe.yaml in the same folder holds the recipe as written';

/** The fields of run.json every reader relies on; a file without them is damaged. */
function checkInfo(path: string, v: Record<string, unknown>): RunInfo {
  const bad = (why: string) => new RunDamaged(path, why, RUN_FILE_HINT);
  for (const k of ['id', 'name', 'created_at', 'queue_prefix'] as const)
    if (typeof v[k] !== 'string') throw bad(`field "${k}" is missing or not text`);
  if (!(RUN_STATES as readonly unknown[]).includes(v.state))
    throw bad(`field "state" is ${JSON.stringify(v.state)}, not one of ${RUN_STATES.join(', ')}`);
  if (!Number.isInteger(v.rounds)) throw bad('field "rounds" is missing or not an integer');
  return v as unknown as RunInfo;
}

/** A done record with the fields its readers use, or a reason it is unusable. */
function checkRecord(jobId: string, v: Record<string, unknown>): string | undefined {
  if (v.job_id !== jobId) return `names job ${JSON.stringify(v.job_id)}, not ${jobId}`;
  if (!v.outputs || typeof v.outputs !== 'object' || Array.isArray(v.outputs)) return 'has no "outputs" object';
  for (const [name, o] of Object.entries(v.outputs as Record<string, unknown>)) {
    const out = o as Partial<OutputRecord> | null;
    if (!out || typeof out.path !== 'string' || !Number.isInteger(out.rows))
      return `output "${name}" lacks a path or a row count`;
  }
  if (!v.metrics || typeof v.metrics !== 'object') return 'has no "metrics" object';
  return undefined;
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

export class RunStore {
  constructor(readonly dir: string) {}

  /** Creates `runs/<id>/` with the recipe copy (bytes as written) and its validated form. */
  static create(opts: {
    runsDir: string;
    recipe: Recipe;
    recipeFile: string;
    queuePrefix: string;
    id?: string;
  }): RunStore {
    const id = opts.id ?? `${opts.recipe.name}-${stamp()}-${randomBytes(2).toString('hex')}`;
    if (!isSafeRunId(id))
      throw new IpaError(
        `run id ${JSON.stringify(id)} is not a plain folder name (letters, digits, ".", "_", "-"; no "..")`,
        ExitCode.usage,
      );
    const dir = resolve(opts.runsDir, id);
    if (existsSync(join(dir, 'run.json'))) throw new Error(`run ${id} already exists at ${dir}`);
    ensureDir(dir);
    const store = new RunStore(dir);
    // A byte copy, with the run's mode (copying the file would copy its mode too).
    atomicWrite(join(dir, 'recipe.yaml'), readFileSync(opts.recipeFile));
    atomicWriteJson(join(dir, 'recipe.json'), opts.recipe);
    const now = new Date().toISOString();
    store.writeInfo({
      id,
      name: opts.recipe.name,
      created_at: now,
      updated_at: now,
      state: 'queued',
      queue_prefix: opts.queuePrefix,
      rounds: opts.recipe.rounds.length,
      recipe_file: resolve(opts.recipeFile),
    });
    return store;
  }

  static isRunDir(dir: string): boolean {
    return existsSync(join(dir, 'run.json'));
  }

  /** Readable runs under `runsDir`, oldest first; a run whose run.json is damaged is left out (see `listAll`). */
  static list(runsDir: string): RunInfo[] {
    return RunStore.listAll(runsDir).flatMap((r) => (r.info ? [r.info] : []));
  }

  /** Every run folder under `runsDir`, oldest first; damaged ones (unreadable run.json) last, with the reason. */
  static listAll(runsDir: string): RunListing[] {
    if (!existsSync(runsDir)) return [];
    const out: RunListing[] = [];
    for (const d of readdirSync(runsDir)) {
      const dir = join(runsDir, d);
      if (!RunStore.isRunDir(dir)) continue;
      try {
        out.push({ id: d, dir, info: new RunStore(dir).info() });
      } catch (err) {
        if (!(err instanceof RunDamaged)) throw err;
        out.push({ id: d, dir, damaged: `${err.file}: ${err.reason}` });
      }
    }
    const key = (r: RunListing) => r.info?.created_at ?? '\uffff';
    return out.sort((a, b) => key(a).localeCompare(key(b)) || a.id.localeCompare(b.id));
  }

  get id(): string {
    return basename(this.dir);
  }

  abs(rel: string): string {
    return resolve(this.dir, rel);
  }

  /** run.json; `RunDamaged` (exit code 3) when it is truncated, not JSON or lacks a field. */
  info(): RunInfo {
    const path = join(this.dir, 'run.json');
    return checkInfo(path, readJsonObject(path, RUN_FILE_HINT));
  }

  private writeInfo(info: RunInfo): void {
    atomicWriteJson(join(this.dir, 'run.json'), info);
  }

  /**
   * Moves the run to `state`; a final state is only left through `resume` (`force`). A failed run keeps
   * its first error: jobs that fail after it (refused because the run is failed) would bury the cause.
   */
  setState(state: RunState, extra: { error?: string; force?: boolean } = {}): RunInfo {
    const info = this.info();
    if (FINAL_STATES.has(info.state) && !extra.force && info.state !== state) return info;
    if (info.state === 'failed' && state === 'failed' && info.error !== undefined && !extra.force) return info;
    const next: RunInfo = { ...info, state, updated_at: new Date().toISOString() };
    if (extra.error !== undefined) next.error = extra.error;
    else if (state !== 'failed') delete next.error;
    this.writeInfo(next);
    return next;
  }

  /**
   * The run's validated recipe. Parsed again through the schema so a run directory written
   * before a setting was added gets that setting's default (the payload schema is strict and
   * requires every defaulted field); settings that left the recipe are dropped first.
   * `RunDamaged` (exit code 3) when it is truncated, not JSON or does not match the schema.
   */
  recipe(): Recipe {
    const path = join(this.dir, 'recipe.json');
    const recipe = withoutMovedSettings(readJsonObject(path, RUN_FILE_HINT));
    const parsed = RecipeSchema.safeParse(recipe);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new RunDamaged(
        path,
        `does not match the recipe schema (${first.path.join('.') || 'the whole file'}: ${first.message})`,
        RUN_FILE_HINT,
      );
    }
    return parsed.data;
  }

  private recordPath(jobId: string): string {
    return join(this.dir, 'jobs', `${jobId}.json`);
  }

  /** Whether the run's `jobs` folder is its own: a link leading out of the run holds no record of it. */
  private jobsInside(): boolean {
    return staysInside(join(this.dir, 'jobs'), this.dir);
  }

  /** Ids of every `jobs/<id>.json`, sorted, readable or not; none when `jobs` leads out of the run. */
  recordIds(): string[] {
    const dir = join(this.dir, 'jobs');
    if (!existsSync(dir) || !this.jobsInside()) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
  }

  /**
   * The done record as written; `RunDamaged` when it cannot be used (truncated, not JSON, the
   * wrong job, no outputs), undefined when there is none.
   */
  readRecord(jobId: string): DoneRecord | undefined {
    const p = this.recordPath(jobId);
    if (!existsSync(p)) return undefined;
    if (!this.jobsInside())
      throw new RunDamaged(
        p,
        'lies outside the run directory (its jobs folder is a symbolic link); it was not read',
        'remove the link; ipa resume computes the job again',
      );
    const v = readJsonObject(p, 'ipa resume computes the job again');
    const problem = checkRecord(jobId, v);
    if (problem) throw new RunDamaged(p, problem, 'ipa resume computes the job again');
    return v as unknown as DoneRecord;
  }

  /**
   * The done record, if the job finished, its record is readable and its outputs are still
   * there. A damaged record counts as none: the job is computed again, never trusted.
   */
  doneRecord(jobId: string): DoneRecord | undefined {
    let rec: DoneRecord | undefined;
    try {
      rec = this.readRecord(jobId);
    } catch (err) {
      if (err instanceof RunDamaged) return undefined;
      throw err;
    }
    if (!rec) return undefined;
    for (const out of Object.values(rec.outputs)) {
      if (!existsSync(out.path)) return undefined;
    }
    return rec;
  }

  /** Whether a done record file exists for the job (not whether it is usable: see `doneRecord`). */
  hasRecord(jobId: string): boolean {
    return existsSync(this.recordPath(jobId));
  }

  /** Done record whose outputs also match their checksums, folders included (what the agent trusts to skip work). */
  verifiedDoneRecord(jobId: string): DoneRecord | undefined {
    const rec = this.doneRecord(jobId);
    if (!rec) return undefined;
    return Object.entries(rec.outputs).some(([name, out]) => checkOutput(this, rec, name, out)) ? undefined : rec;
  }

  /** Writes the record; `RunDamaged` when the run's jobs folder leads out of it (nothing written). */
  writeDone(rec: DoneRecord): void {
    runFolder(this.dir, 'jobs');
    atomicWriteJson(this.recordPath(rec.job_id), rec);
  }

  /** Ids of every job with a done record (outputs present). */
  doneIds(): Set<string> {
    return new Set(this.recordIds().filter((id) => this.doneRecord(id) !== undefined));
  }

  doneRecords(): DoneRecord[] {
    return [...this.doneIds()].map((id) => this.doneRecord(id)!).sort((a, b) => a.job_id.localeCompare(b.job_id));
  }

  /** Appends one line per computation started: the manifest's attempt counter. */
  recordAttempt(jobId: string, entry: AttemptEntry): void {
    appendRegular(join(runFolder(this.dir, 'jobs'), `${jobId}.attempts`), JSON.stringify(entry) + '\n', FILE_MODE);
  }

  /** Attempt lines of the job; 0 when there are none or they cannot be read as a regular file of the run. */
  attempts(jobId: string): number {
    const p = join(this.dir, 'jobs', `${jobId}.attempts`);
    if (!existsSync(p) || !this.jobsInside()) return 0;
    try {
      return readRegularText(p)
        .split('\n')
        .filter((l) => l.trim()).length;
    } catch {
      return 0;
    }
  }

  /** Every job id that has at least one attempt line, with its count. */
  allAttempts(): Map<string, number> {
    const dir = join(this.dir, 'jobs');
    const out = new Map<string, number>();
    if (!existsSync(dir) || !this.jobsInside()) return out;
    for (const f of readdirSync(dir))
      if (f.endsWith('.attempts')) out.set(f.slice(0, -9), this.attempts(f.slice(0, -9)));
    return out;
  }

  logPath(jobId: string): string {
    return join(this.dir, 'logs', `${jobId}.log`);
  }

  /**
   * Appends to the job's log. A log that cannot be written safely — the logs folder a link leading
   * out of the run, the log file a named pipe — loses the line, never the job: nothing is written
   * outside the run, and nothing blocks (this runs in stream callbacks of the agent).
   */
  appendLog(jobId: string, line: string): void {
    try {
      runFolder(this.dir, 'logs');
      appendRegular(this.logPath(jobId), line.endsWith('\n') ? line : line + '\n', FILE_MODE);
    } catch (err) {
      if (err instanceof RunDamaged || err instanceof NotRegularFile) return;
      throw err;
    }
  }
}
