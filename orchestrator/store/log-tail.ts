/**
 * Reading a run's job logs (`logs/<job-id>.log`) as they grow: pick the jobs by round, stage
 * and shard, read only the bytes written since the last read, and follow until the run ends.
 * `ipa logs` prints what this yields; the dashboard lists the same files for its error panel.
 */
import { closeSync, existsSync, fstatSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseJobId, type Stage } from '../plan/stages.js';
import { staysInside } from '../real-path.js';
import { openRegular } from '../regular-file.js';
import { ENDED_STATES, type RunStore } from './run-store.js';

/** Which jobs' logs to read; a missing field matches every job. */
export interface LogFilter {
  round?: number;
  stage?: Stage | string;
  shard?: number;
}

export interface LogLine {
  job: string;
  line: string;
}

/**
 * The run's job log files that match `filter`, in job id order; a link leading out of the run
 * directory, and anything but a regular file (a named pipe would block the reader), is left out.
 */
export function jobLogFiles(store: RunStore, filter: LogFilter = {}): Array<{ job: string; path: string }> {
  const dir = store.abs('logs');
  if (!existsSync(dir) || !staysInside(dir, store.dir)) return [];
  const out: Array<{ job: string; path: string }> = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.log')) continue;
    const job = f.slice(0, -4);
    const j = parseJobId(job);
    if (!j) continue;
    if (filter.round !== undefined && j.round !== filter.round) continue;
    if (filter.stage !== undefined && j.stage !== filter.stage) continue;
    if (filter.shard !== undefined && j.shard !== filter.shard) continue;
    const path = join(dir, f);
    if (!staysInside(path, store.dir) || !isRegular(path)) continue;
    out.push({ job, path });
  }
  return out;
}

function isRegular(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface FollowOptions {
  /** Keep reading until the run has ended (a final state, or interrupted). @defaultValue false (read once) */
  follow?: boolean;
  /** @defaultValue 500 */
  pollMs?: number;
}

/** Remembers how far each log has been read, so each read returns only new lines. */
export class LogTail {
  private readonly offsets = new Map<string, number>();

  constructor(
    private readonly store: RunStore,
    private readonly filter: LogFilter = {},
  ) {}

  /**
   * New lines of every matching log. A line still being written is left for the next read,
   * unless `final` (nothing more will come), which returns it as it is.
   */
  read(final = false): LogLine[] {
    const lines: LogLine[] = [];
    for (const { job, path } of jobLogFiles(this.store, this.filter)) {
      const from = this.offsets.get(job) ?? 0;
      const bytes = readFrom(path, from);
      const end = final ? bytes.length : bytes.lastIndexOf(0x0a) + 1;
      if (end <= 0) continue;
      this.offsets.set(job, from + end);
      for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) if (line) lines.push({ job, line });
    }
    return lines;
  }

  /** Hands every line to `emit`: once, or (with `follow`) until the run ends. */
  async follow(emit: (line: LogLine) => void, opts: FollowOptions = {}): Promise<void> {
    if (!opts.follow) {
      this.read(true).forEach(emit);
      return;
    }
    this.read().forEach(emit);
    for (;;) {
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      const over = ENDED_STATES.has(this.store.info().state);
      this.read(over).forEach(emit);
      if (over) return;
    }
  }
}

/** The bytes of `path` from `offset` to its current end. */
function readFrom(path: string, offset: number): Buffer {
  const fd = openRegular(path);
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
