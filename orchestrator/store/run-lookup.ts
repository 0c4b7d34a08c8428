/**
 * Finding runs by what a person types: a run directory, an id, or the start of an id. Looks in
 * the runs folder and in the per-user registry (`run-registry.ts`), so a run is found wherever its
 * recipe put it. A prefix that fits several runs is reported with every candidate, never guessed.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RunDamaged } from './damage.js';
import type { RegisteredRun } from './run-registry.js';
import { RunStore, type RunInfo } from './run-store.js';

/** A run the lookup knows of; `missing` when its directory is gone (a stale registry entry). */
export interface KnownRun {
  id: string;
  dir: string;
  created_at: string;
  missing: boolean;
  /**
   * Set when a registry line names this folder under an id the folder does not hold, or under an
   * id another registered folder already holds: the line is ignored for lookup and `ipa list`
   * reports it.
   */
  conflict?: string;
}

export type RunLookup =
  | { kind: 'found'; store: RunStore }
  | { kind: 'none' }
  /** The reference names a registered run whose directory no longer exists. */
  | { kind: 'gone'; run: KnownRun }
  | { kind: 'ambiguous'; candidates: KnownRun[] };

/** The id a folder's run.json holds; undefined when it has none or it cannot be read. */
function folderId(dir: string): string | undefined {
  try {
    return new RunStore(dir).info().id;
  } catch {
    return undefined;
  }
}

/**
 * Runs in `runsDir` and in the registry, each directory once, oldest first. One id, one run: the
 * folder's run.json decides. A registry line naming a folder whose run.json holds another id, or
 * an id that an earlier line's folder (still there, and holding it) already has, is a conflict;
 * a line for a folder that is gone gives way to a present one of the same id.
 */
export function knownRuns(runsDir: string, registered: readonly RegisteredRun[]): KnownRun[] {
  const byDir = new Map<string, KnownRun>();
  const conflicts: KnownRun[] = [];
  const owner = new Map<string, string>();
  const entries = registered.map((r) => ({ ...r, dir: resolve(r.dir), missing: !RunStore.isRunDir(resolve(r.dir)) }));
  for (const r of entries) {
    const run: KnownRun = { id: r.id, dir: r.dir, created_at: r.created_at, missing: r.missing };
    if (!r.missing) {
      const held = folderId(r.dir);
      if (held !== undefined && held !== r.id)
        run.conflict = `a registry line names this folder as run ${r.id}, but its run.json holds id ${held}; the line is ignored`;
      else if (owner.has(r.id) && owner.get(r.id) !== r.dir)
        run.conflict = `a later registry line gives id ${r.id} to this folder, but ${owner.get(r.id)} already holds it; the line is ignored`;
      else owner.set(r.id, r.dir);
    } else if (entries.some((o) => o.id === r.id && !o.missing)) continue; // superseded by a present folder
    if (run.conflict) conflicts.push(run);
    else byDir.set(r.dir, run);
  }
  if (existsSync(runsDir)) {
    for (const d of readdirSync(runsDir)) {
      const dir = resolve(runsDir, d);
      if (byDir.has(dir) || !RunStore.isRunDir(dir)) continue;
      byDir.set(dir, { id: d, dir, created_at: createdAt(dir), missing: false });
    }
  }
  return [...byDir.values(), ...conflicts].sort(
    (a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id),
  );
}

function createdAt(dir: string): string {
  try {
    return new RunStore(dir).info().created_at;
  } catch {
    return '';
  }
}

/**
 * The run `ref` names: a run directory path; an exact id (the runs folder first, then the
 * registry); else the one run whose id starts with `ref`.
 */
export function lookupRun(runsDir: string, ref: string, registered: readonly RegisteredRun[]): RunLookup {
  if (RunStore.isRunDir(ref)) return { kind: 'found', store: new RunStore(resolve(ref)) };
  const direct = join(runsDir, ref);
  if (RunStore.isRunDir(direct)) return { kind: 'found', store: new RunStore(resolve(direct)) };
  const known = knownRuns(runsDir, registered).filter((r) => !r.conflict);
  const exact = known.filter((r) => r.id === ref);
  const present = exact.filter((r) => !r.missing);
  if (present.length === 1) return { kind: 'found', store: new RunStore(present[0].dir) };
  if (present.length > 1) return { kind: 'ambiguous', candidates: present };
  if (exact.length) return { kind: 'gone', run: exact[exact.length - 1] };
  const matches = known.filter((r) => !r.missing && r.id.startsWith(ref));
  if (matches.length === 1) return { kind: 'found', store: new RunStore(matches[0].dir) };
  if (matches.length > 1) return { kind: 'ambiguous', candidates: matches };
  return { kind: 'none' };
}

/** What a listing shows of a known run: its `run.json`, or why that file cannot be used. */
export interface RunReading {
  info?: RunInfo;
  /** Set when run.json is damaged (`RunDamaged`): the file and the reason. */
  damaged?: string;
}

/** The run's `run.json`; a damaged one gives its file and reason instead, a gone run neither. */
export function readInfo(run: KnownRun): RunReading {
  if (run.missing) return {};
  try {
    return { info: new RunStore(run.dir).info() };
  } catch (err) {
    if (err instanceof RunDamaged) return { damaged: `${err.file}: ${err.reason}` };
    return { damaged: String(err) };
  }
}
