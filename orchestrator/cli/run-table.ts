/** Runs as lines a person reads: id, state, rounds, when, and where the directory is. */
import { isAbsolute, relative } from 'node:path';
import { readInfo, type KnownRun } from '../store/run-lookup.js';

/** `dir` relative to the working directory when it lies below it, else absolute. */
export function shortPath(dir: string, cwd = process.cwd()): string {
  const rel = relative(cwd, dir);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : dir;
}

/** `2026-11-26T08:09:20.014Z` → `2026-11-26 08:09` (UTC, as stored). */
function when(iso: string): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '?';
}

/**
 * One line per run; a run whose directory is gone says so instead of a state, one whose
 * run.json is damaged says "damaged" with the file and the reason, and a registry line that
 * conflicts with a folder's own id says "conflict" with the reason (the other runs as usual).
 */
export function runTable(runs: readonly KnownRun[], cwd = process.cwd()): string {
  const width = Math.max(2, ...runs.map((r) => r.id.length));
  return runs
    .map((r) => {
      if (r.conflict)
        return `  ${r.id.padEnd(width)}  ${'conflict'.padEnd(11)} ${''.padEnd(9)} ${when(r.created_at)}  ${shortPath(r.dir, cwd)}: ${r.conflict}`;
      const { info, damaged } = readInfo(r);
      const state = r.missing ? 'gone' : damaged ? 'damaged' : (info?.state ?? 'unreadable');
      const rounds = info ? `${info.rounds} round${info.rounds === 1 ? '' : 's'}` : '';
      const where = r.missing ? `${r.dir} (directory gone)` : (damaged ?? shortPath(r.dir, cwd));
      return `  ${r.id.padEnd(width)}  ${state.padEnd(11)} ${rounds.padEnd(9)} ${when(info?.created_at ?? r.created_at)}  ${where}`;
    })
    .join('\n');
}
