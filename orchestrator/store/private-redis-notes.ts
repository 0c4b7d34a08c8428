/**
 * Notes of the private Redis servers `ipa run` and `ipa ablate` start, so `ipa workers` and
 * `ipa dashboard` in another terminal find the queues of a run going on without a REDIS_URL.
 * One file per session in the per-user state folder, removed when the session ends; a note whose
 * process is gone (a killed session) is stale and removed by the next reader.
 *
 * The note holds the server's password (in its URL): the folder and file are private to the user
 * (file-modes.ts), as the runs registry beside it is. The password keeps other users of the host
 * off the loopback port; the same user could read it from the session's memory anyway, so a file
 * only they can read gives nobody anything new.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../file-modes.js';
import { ensureDir } from './atomic.js';
import { stateDir } from './run-registry.js';

export interface PrivateRedisNote {
  /** The `ipa run` / `ipa ablate` process that started the server and owns the note. */
  pid: number;
  /** The server's URL, password included. */
  url: string;
  /** The queue prefix the session uses. */
  prefix: string;
  started_at: string;
}

export function privateRedisNotesDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'private-redis');
}

const noteFile = (pid: number, env: NodeJS.ProcessEnv) => join(privateRedisNotesDir(env), `${pid}.json`);

/**
 * Writes the note of this process's private Redis. Returns the error message instead of
 * throwing: a read-only home must not stop a run (the caller says it out loud).
 */
export function writePrivateRedisNote(
  note: PrivateRedisNote,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  try {
    ensureDir(privateRedisNotesDir(env), PRIVATE_DIR_MODE);
    // Whole or absent for a reader: created private under a temporary name, then renamed.
    const file = noteFile(note.pid, env);
    const tmp = `${file}.tmp`;
    rmSync(tmp, { force: true });
    writeFileSync(tmp, `${JSON.stringify(note)}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    renameSync(tmp, file);
    return undefined;
  } catch (err) {
    return `could not note the private Redis in ${privateRedisNotesDir(env)}: ${err instanceof Error ? err.message : err}`;
  }
}

export function removePrivateRedisNote(pid: number, env: NodeJS.ProcessEnv = process.env): void {
  rmSync(noteFile(pid, env), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseNote(text: string): PrivateRedisNote | undefined {
  try {
    const n = JSON.parse(text) as Partial<PrivateRedisNote>;
    if (!Number.isInteger(n.pid) || typeof n.url !== 'string' || typeof n.prefix !== 'string') return undefined;
    return { pid: n.pid!, url: n.url, prefix: n.prefix, started_at: String(n.started_at ?? '') };
  } catch {
    return undefined;
  }
}

/** The notes of sessions still alive, newest first; stale and unreadable notes are removed. */
export function livePrivateRedisNotes(env: NodeJS.ProcessEnv = process.env): PrivateRedisNote[] {
  const dir = privateRedisNotesDir(env);
  if (!existsSync(dir)) return [];
  const notes: PrivateRedisNote[] = [];
  for (const name of readdirSync(dir)) {
    if (!/^\d+\.json$/.test(name)) continue;
    const path = join(dir, name);
    let note: PrivateRedisNote | undefined;
    try {
      note = parseNote(readFileSync(path, 'utf8'));
    } catch {
      continue; // removed while listed
    }
    if (note && alive(note.pid)) notes.push(note);
    else rmSync(path, { force: true });
  }
  return notes.sort((a, b) => b.started_at.localeCompare(a.started_at));
}
