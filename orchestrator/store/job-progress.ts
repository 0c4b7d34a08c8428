/**
 * Live progress of running jobs, in the run directory (`progress/<job-id>.json`): what a job's
 * Python stage last reported — step/total, loss, reward accuracy, tokens/s, phase — plus an
 * estimate of the phase's time left from its steps' rate, written by the agent that runs it at
 * most once a second (and every `KEEPALIVE_MS` while the stage is quiet) and removed when the
 * try ends. Anything that reads run folders sees a running job's progress whoever started it and
 * whether Redis is reachable or not; the chaos harness judges "hung" by it (a long training step
 * is progress, not a hang).
 *
 * A killed agent cannot remove its file, so readers trust one only while it is fresh
 * (`liveJobProgress`): not older than `STALE_AFTER_MS`, of a job without a done record, in a run
 * that has not ended.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseJobId, type Stage } from '../plan/stages.js';
import { atomicWriteJson } from './atomic.js';
import { readJsonObject } from './damage.js';
import { ENDED_STATES, type RunStore } from './run-store.js';

export const PROGRESS_DIR = 'progress';

/** How often a running job's file is rewritten while its stage reports nothing (a long step, a model loading). */
export const KEEPALIVE_MS = 15_000;
/** A file not rewritten for this long belongs to an agent that is gone (eight keep-alives missed). */
export const STALE_AFTER_MS = 120_000;

export interface JobProgressRecord {
  job_id: string;
  worker: string;
  attempt: number;
  /** When the try started (ISO). */
  started_at: string;
  /** When this record was written (ISO): the last report, or the last keep-alive. */
  updated_at: string;
  /** When the stage last reported (ISO). Absent in files written before the keep-alive existed. */
  reported_at?: string;
  done: number;
  total: number;
  /** The stage's last metrics: `phase`, `loss`, `reward_accuracy`, `tokens_per_s` ... */
  metrics: Record<string, unknown>;
  /** Estimated time left in the current phase at `reported_at`, from its steps' rate; absent until it has one. */
  eta_ms?: number;
}

type Report = Pick<JobProgressRecord, 'done' | 'total' | 'metrics'>;

/**
 * The rate of the current phase (same `phase` and `total`), measured from its first report: the
 * time the remaining steps need at that rate. Undefined until the phase has moved past its first count.
 */
export class PhaseRate {
  private start?: { key: string; done: number; at: number };

  etaMs(p: Report, at: number): number | undefined {
    if (!(p.total > 0)) return undefined;
    const key = `${String(p.metrics.phase ?? '')}\0${p.total}`;
    if (!this.start || this.start.key !== key || p.done < this.start.done) {
      this.start = { key, done: p.done, at };
      return undefined;
    }
    const steps = p.done - this.start.done;
    if (steps <= 0 || at <= this.start.at) return undefined;
    return Math.round(((at - this.start.at) / steps) * Math.max(0, p.total - p.done));
  }
}

/** Writes one running job's progress file, at most once per `minIntervalMs` (the newest update is kept). */
export class JobProgressFile {
  private readonly path: string;
  private last = -Infinity;
  private held?: Report;
  /** The record last written, rewritten by the keep-alive. */
  private current?: Omit<JobProgressRecord, 'updated_at'>;
  private timer?: NodeJS.Timeout;
  private keepalive?: NodeJS.Timeout;
  private closed = false;
  private readonly rate = new PhaseRate();

  constructor(
    runDir: string,
    private readonly base: Pick<JobProgressRecord, 'job_id' | 'worker' | 'attempt' | 'started_at'>,
    private readonly minIntervalMs = 1000,
    private readonly keepaliveMs = KEEPALIVE_MS,
  ) {
    this.path = join(runDir, PROGRESS_DIR, `${base.job_id}.json`);
  }

  push(p: Report): void {
    if (this.closed) return;
    const now = Date.now();
    const eta = this.rate.etaMs(p, now);
    this.current = {
      ...this.base,
      reported_at: new Date(now).toISOString(),
      ...p,
      ...(eta !== undefined ? { eta_ms: eta } : {}),
    };
    this.held = p;
    const wait = this.last + this.minIntervalMs - now;
    if (wait <= 0) return this.write();
    this.timer ??= setTimeout(() => this.write(), wait);
    this.timer.unref?.();
  }

  private write(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const held = this.held;
    this.held = undefined;
    if (!held || this.closed) return;
    this.last = Date.now();
    this.save();
    if (!this.keepalive) {
      this.keepalive = setInterval(() => this.save(), this.keepaliveMs);
      this.keepalive.unref?.();
    }
  }

  private save(): void {
    if (!this.current || this.closed) return;
    try {
      atomicWriteJson(this.path, { ...this.current, updated_at: new Date().toISOString() });
    } catch {
      // Progress is a view: a full disk or a removed run must not fail the job.
    }
  }

  /** The try ended (done, failed or handed back): its progress file goes. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.keepalive);
    rmSync(this.path, { force: true });
  }
}

/** Every progress file of a run, fresh or not; unreadable ones are left out. */
export function readJobProgress(runDir: string): JobProgressRecord[] {
  let names: string[];
  try {
    names = readdirSync(join(runDir, PROGRESS_DIR)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: JobProgressRecord[] = [];
  for (const n of names) {
    try {
      const v = readJsonObject(join(runDir, PROGRESS_DIR, n));
      if (typeof v.job_id === 'string' && typeof v.done === 'number' && typeof v.total === 'number')
        out.push(v as unknown as JobProgressRecord);
    } catch {
      // being replaced, or removed as the job ended
    }
  }
  return out.sort((a, b) => a.job_id.localeCompare(b.job_id));
}

/** A job running now, as every watcher shows it (`ipa status`/`watch`, `--json`, the dashboard). */
export interface LiveJob {
  job_id: string;
  round: number;
  stage: Stage;
  shard: number;
  worker: string;
  attempt: number;
  started_at: string;
  updated_at: string;
  done: number;
  total: number;
  /** What the job is doing ("policy DPO", "loading model", "sampling"); absent when it did not say. */
  phase?: string;
  metrics: Record<string, unknown>;
  /** Time left in the current phase at the moment read, from its steps' rate; absent until it has one. */
  eta_ms?: number;
}

/**
 * The run's jobs running now, from their progress files: not those of an ended run, of a job
 * with a done record, or not rewritten for `STALE_AFTER_MS` (an agent killed before it could
 * remove its file). Oldest start first.
 */
export function liveJobProgress(store: RunStore, now = Date.now()): LiveJob[] {
  const files = readJobProgress(store.dir);
  if (!files.length) return [];
  try {
    if (ENDED_STATES.has(store.info().state)) return [];
  } catch {
    return []; // run.json unreadable: its own damage report says so
  }
  const out: LiveJob[] = [];
  for (const f of files) {
    const at = parseJobId(f.job_id);
    const written = Date.parse(f.updated_at);
    if (!at || at.runId !== store.id || !(now - written < STALE_AFTER_MS) || store.doneRecord(f.job_id)) continue;
    const reported = Date.parse(f.reported_at ?? f.updated_at);
    const phase = typeof f.metrics?.phase === 'string' ? f.metrics.phase : undefined;
    out.push({
      job_id: f.job_id,
      round: at.round,
      stage: at.stage,
      shard: at.shard,
      worker: f.worker,
      attempt: f.attempt,
      started_at: f.started_at,
      updated_at: f.updated_at,
      done: f.done,
      total: f.total,
      ...(phase !== undefined ? { phase } : {}),
      metrics: f.metrics ?? {},
      ...(typeof f.eta_ms === 'number' ? { eta_ms: Math.max(0, f.eta_ms - Math.max(0, now - reported)) } : {}),
    });
  }
  return out.sort((a, b) => a.started_at.localeCompare(b.started_at) || a.job_id.localeCompare(b.job_id));
}
