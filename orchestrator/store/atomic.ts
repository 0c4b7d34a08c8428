/**
 * Crash-safe file writes: a reader sees the old file or the new one, never half of one.
 * Temp file in the same folder (rename is only atomic within a filesystem), fsync, rename, fsync dir.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DIR_MODE, FILE_MODE } from '../file-modes.js';
import { fileDigest } from './digest.js';
import { readRegularText } from '../regular-file.js';

export { DIR_MODE, FILE_MODE };

/** mkdir -p; every folder created gets `mode` under the umask. */
export function ensureDir(dir: string, mode: number = DIR_MODE): void {
  mkdirSync(dir, { recursive: true, mode });
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` to `path` atomically and returns its sha256.
 * `beforeRename` exists for the crash test: it runs after the temp file is durable.
 */
export function atomicWrite(path: string, data: string | Uint8Array, beforeRename?: (tmp: string) => void): string {
  const dir = dirname(path);
  ensureDir(dir);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'w', FILE_MODE);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    writeSync(fd, buf);
    fsyncSync(fd);
    closeSync(fd);
    beforeRename?.(tmp);
    renameSync(tmp, path);
    fsyncDir(dir);
    return createHash('sha256').update(buf).digest('hex');
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
}

export function atomicWriteJson(path: string, value: unknown): string {
  return atomicWrite(path, JSON.stringify(value, null, 2) + '\n');
}

export function atomicWriteJsonl(path: string, rows: unknown[]): { path: string; rows: number; sha256: string } {
  const text = rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
  return { path, rows: rows.length, sha256: atomicWrite(path, text) };
}

/** The rows of a JSON-lines file (a regular file only: `NotRegularFile` for a pipe, never a blocking read). */
export function readJsonl<T = Record<string, unknown>>(path: string): T[] {
  return readRegularText(path)
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

/** sha256 of a file's bytes, read in chunks. */
export function sha256File(path: string): string {
  return fileDigest(path);
}
