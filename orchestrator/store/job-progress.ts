/**
 * Live progress of running jobs, in the run directory (`progress/<job-id>.json`): what a job's
 * Python stage last reported — step/total, loss, phase — written by the agent that runs it at
 * most once a second and removed when the try ends. Anything that reads run folders sees a
 * running job's progress whoever started it and whether Redis is reachable or not; the chaos
 * harness judges "hung" by it (a long training step is progress, not a hang).
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteJson } from './atomic.js';
import { readJsonObject } from './damage.js';

export const PROGRESS_DIR = 'progress';

export interface JobProgressRecord {
  job_id: string;
  worker: string;
  attempt: number;
  /** When the try started (ISO). */
  started_at: string;
  /** When this record was written (ISO). */
  updated_at: string;
  done: number;
  total: number;
  /** The stage's last metrics: `phase`, `loss`, `reward_accuracy`, tokens/s ... */
  metrics: Record<string, unknown>;
}

/** Writes one running job's progress file, at most once per `minIntervalMs` (the newest update is kept). */
export class JobProgressFile {
  private readonly path: string;
  private last = -Infinity;
  private held?: Pick<JobProgressRecord, 'done' | 'total' | 'metrics'>;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    runDir: string,
    private readonly base: Pick<JobProgressRecord, 'job_id' | 'worker' | 'attempt' | 'started_at'>,
    private readonly minIntervalMs = 1000,
  ) {
    this.path = join(runDir, PROGRESS_DIR, `${base.job_id}.json`);
  }

  push(p: Pick<JobProgressRecord, 'done' | 'total' | 'metrics'>): void {
    if (this.closed) return;
    this.held = p;
    const wait = this.last + this.minIntervalMs - Date.now();
    if (wait <= 0) return this.write();
    this.timer ??= setTimeout(() => this.write(), wait);
    this.timer.unref?.();
  }

  private write(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const p = this.held;
    this.held = undefined;
    if (!p || this.closed) return;
    this.last = Date.now();
    try {
      atomicWriteJson(this.path, { ...this.base, updated_at: new Date().toISOString(), ...p });
    } catch {
      // Progress is a view: a full disk or a removed run must not fail the job.
    }
  }

  /** The try ended (done, failed or handed back): its progress file goes. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    rmSync(this.path, { force: true });
  }
}

/** The progress files of a run's running jobs; unreadable ones are left out. */
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
      if (typeof v.job_id === 'string' && typeof v.done === 'number' && typeof v.total === 'number') out.push(v as unknown as JobProgressRecord);
    } catch {
      // being replaced, or removed as the job ended
    }
  }
  return out.sort((a, b) => a.job_id.localeCompare(b.job_id));
}
