/**
 * The run directory: the data plane's source of truth (docs/ARCHITECTURE.md).
 *
 * Done records (`jobs/<job-id>.json`) are written once per finished job, after its outputs; a job
 * is done exactly when its record exists and its outputs are present, whatever Redis says. Each
 * job owns its record file, so workers never contend for one shared manifest; `manifest.json` is a
 * summary derived from the records.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, copyFileSync, chmodSync } from 'node:fs';
import { join, resolve, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { atomicWriteJson, ensureDir, sha256File, FILE_MODE } from './atomic.js';
import { withoutMovedSettings } from '../recipe/moved.js';
import { RecipeSchema, type Recipe } from '../recipe/schema.js';

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

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

export class RunStore {
  constructor(readonly dir: string) {}

  /** Creates `runs/<id>/` with the recipe copy (bytes as written) and its validated form. */
  static create(opts: { runsDir: string; recipe: Recipe; recipeFile: string; queuePrefix: string; id?: string }): RunStore {
    const id = opts.id ?? `${opts.recipe.name}-${stamp()}-${randomBytes(2).toString('hex')}`;
    const dir = resolve(opts.runsDir, id);
    if (existsSync(join(dir, 'run.json'))) throw new Error(`run ${id} already exists at ${dir}`);
    ensureDir(dir);
    chmodSync(dir, 0o750);
    const store = new RunStore(dir);
    copyFileSync(opts.recipeFile, join(dir, 'recipe.yaml'));
    chmodSync(join(dir, 'recipe.yaml'), FILE_MODE);
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

  static list(runsDir: string): RunInfo[] {
    if (!existsSync(runsDir)) return [];
    return readdirSync(runsDir)
      .filter((d) => RunStore.isRunDir(join(runsDir, d)))
      .map((d) => new RunStore(join(runsDir, d)).info())
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  get id(): string {
    return basename(this.dir);
  }

  abs(rel: string): string {
    return resolve(this.dir, rel);
  }

  info(): RunInfo {
    return JSON.parse(readFileSync(join(this.dir, 'run.json'), 'utf8')) as RunInfo;
  }

  private writeInfo(info: RunInfo): void {
    atomicWriteJson(join(this.dir, 'run.json'), info);
  }

  /** Moves the run to `state`; a final state is only left through `resume` (`force`). */
  setState(state: RunState, extra: { error?: string; force?: boolean } = {}): RunInfo {
    const info = this.info();
    if (FINAL_STATES.has(info.state) && !extra.force && info.state !== state) return info;
    const next: RunInfo = { ...info, state, updated_at: new Date().toISOString() };
    if (extra.error !== undefined) next.error = extra.error;
    else if (state !== 'failed') delete next.error;
    this.writeInfo(next);
    return next;
  }

  /**
   * The validated recipe the run was submitted with. Settings that have since left the recipe
   * are dropped, so a run directory written before their move still resumes (the payload
   * schema is strict).
   */
  /**
   * The run's validated recipe. Parsed again through the schema so a run directory written
   * before a setting was added gets that setting's default (the payload schema is strict and
   * requires every defaulted field); settings that left the recipe are dropped first.
   */
  recipe(): Recipe {
    return RecipeSchema.parse(withoutMovedSettings(JSON.parse(readFileSync(join(this.dir, 'recipe.json'), 'utf8'))));
  }

  private recordPath(jobId: string): string {
    return join(this.dir, 'jobs', `${jobId}.json`);
  }

  /** The done record, if the job finished and its outputs are still there. */
  doneRecord(jobId: string): DoneRecord | undefined {
    const p = this.recordPath(jobId);
    if (!existsSync(p)) return undefined;
    const rec = JSON.parse(readFileSync(p, 'utf8')) as DoneRecord;
    for (const out of Object.values(rec.outputs)) {
      if (!existsSync(out.path)) return undefined;
    }
    return rec;
  }

  /** Done record whose file outputs also match their checksums (what the agent trusts to skip work). */
  verifiedDoneRecord(jobId: string): DoneRecord | undefined {
    const rec = this.doneRecord(jobId);
    if (!rec) return undefined;
    for (const out of Object.values(rec.outputs)) {
      if (out.sha256 && statSync(out.path).isFile() && sha256File(out.path) !== out.sha256) return undefined;
    }
    return rec;
  }

  writeDone(rec: DoneRecord): void {
    atomicWriteJson(this.recordPath(rec.job_id), rec);
  }

  /** Ids of every job with a done record (outputs present). */
  doneIds(): Set<string> {
    const dir = join(this.dir, 'jobs');
    if (!existsSync(dir)) return new Set();
    return new Set(
      readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5))
        .filter((id) => this.doneRecord(id) !== undefined),
    );
  }

  doneRecords(): DoneRecord[] {
    return [...this.doneIds()].map((id) => this.doneRecord(id)!).sort((a, b) => a.job_id.localeCompare(b.job_id));
  }

  /** Appends one line per computation started: the manifest's attempt counter. */
  recordAttempt(jobId: string, entry: AttemptEntry): void {
    ensureDir(join(this.dir, 'jobs'));
    appendFileSync(join(this.dir, 'jobs', `${jobId}.attempts`), JSON.stringify(entry) + '\n', { mode: FILE_MODE });
  }

  attempts(jobId: string): number {
    const p = join(this.dir, 'jobs', `${jobId}.attempts`);
    if (!existsSync(p)) return 0;
    return readFileSync(p, 'utf8').split('\n').filter((l) => l.trim()).length;
  }

  /** Every job id that has at least one attempt line, with its count. */
  allAttempts(): Map<string, number> {
    const dir = join(this.dir, 'jobs');
    const out = new Map<string, number>();
    if (!existsSync(dir)) return out;
    for (const f of readdirSync(dir)) if (f.endsWith('.attempts')) out.set(f.slice(0, -9), this.attempts(f.slice(0, -9)));
    return out;
  }

  logPath(jobId: string): string {
    return join(this.dir, 'logs', `${jobId}.log`);
  }

  appendLog(jobId: string, line: string): void {
    ensureDir(join(this.dir, 'logs'));
    appendFileSync(this.logPath(jobId), line.endsWith('\n') ? line : line + '\n', { mode: FILE_MODE });
  }
}
