/**
 * Error blocks (with tracebacks) from a run's job logs, for the dashboard; training curves and
 * evaluation results come from store/metrics-files.ts. A log being written at the same moment is
 * read up to its last complete line.
 */
import { closeSync, fstatSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { jobLogFiles } from '../store/log-tail.js';
import { openRegular } from '../regular-file.js';
import type { RunStore } from '../store/run-store.js';

export interface LogError {
  job_id: string;
  /** The log file's modification time: when the error was (last) written. */
  at: string;
  headline: string;
  /** The whole block: headline, traceback and final exception line. */
  text: string;
}

/** Reads at most the last `max` bytes: logs can be large, errors are at their end. */
function tail(path: string, max: number): string {
  const fd = openRegular(path);
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
const HEADLINE =
  /^(BadInput|OutOfMemory|Cancelled|Internal|[A-Za-z_][\w.]*(Error|Exception)):|^Traceback \(most recent call last\):|\bERROR\b|"level"\s*:\s*"(error|fatal)"/;
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
