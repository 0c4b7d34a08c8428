/**
 * One list of a user's runs, wherever their directories are, so `ipa status <id>` finds a run
 * whose recipe put it outside ./runs. `ipa submit` (and `ipa run`) append one JSON line per run
 * to `runs.jsonl` in the state folder; nothing else writes it. Appending whole short lines keeps
 * concurrent submits from mixing their entries.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../file-modes.js';
import { ensureDir } from './atomic.js';

/** A run as the registry knows it: where its directory was put. */
export interface RegisteredRun {
  id: string;
  /** Absolute path of the run directory. */
  dir: string;
  created_at: string;
}

/**
 * The per-user state folder: `$IPA_STATE_DIR` (tests point it at a temp folder), else
 * `$XDG_STATE_HOME/ipa`, else `~/.local/state/ipa`.
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IPA_STATE_DIR) return resolve(env.IPA_STATE_DIR);
  return join(env.XDG_STATE_HOME ? resolve(env.XDG_STATE_HOME) : join(homedir(), '.local', 'state'), 'ipa');
}

export function registryFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'runs.jsonl');
}

/**
 * Adds a run. Returns the error message instead of throwing: a read-only home must not stop a
 * run (the caller says it out loud; the run is still found with --runs-dir or its path).
 */
export function registerRun(run: RegisteredRun, env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    // Private (file-modes.ts): a worker serves the runs listed here.
    ensureDir(stateDir(env), PRIVATE_DIR_MODE);
    appendFileSync(
      registryFile(env),
      JSON.stringify({ id: run.id, dir: resolve(run.dir), created_at: run.created_at }) + '\n',
      { mode: PRIVATE_FILE_MODE },
    );
    return undefined;
  } catch (err) {
    return `could not record run ${run.id} in ${registryFile(env)}: ${err instanceof Error ? err.message : err}`;
  }
}

/**
 * Every registered (id, folder) pair once, in the order of their first line; malformed lines are
 * skipped. Several folders may claim one id (a line added by hand, a moved run): which one the id
 * names is decided by the folders' own run.json (`knownRuns` in run-lookup.ts), never by line order.
 */
export function registeredRuns(env: NodeJS.ProcessEnv = process.env): RegisteredRun[] {
  const file = registryFile(env);
  if (!existsSync(file)) return [];
  const seen = new Set<string>();
  const out: RegisteredRun[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const entry = parseEntry(line);
    const key = entry && `${entry.id}\0${resolve(entry.dir)}`;
    if (entry && !seen.has(key!)) {
      seen.add(key!);
      out.push(entry);
    }
  }
  return out;
}

function parseEntry(line: string): RegisteredRun | undefined {
  if (!line.trim()) return undefined;
  try {
    const e = JSON.parse(line) as Partial<RegisteredRun>;
    if (typeof e.id !== 'string' || typeof e.dir !== 'string' || !e.id || !e.dir) return undefined;
    return { id: e.id, dir: e.dir, created_at: typeof e.created_at === 'string' ? e.created_at : '' };
  } catch {
    return undefined;
  }
}
