/**
 * Symbolic links in a run directory: the one rule that every read and write under a run resolves
 * inside the run's real path. A link planted in a run (`round-1/pairs` → another folder, `logs`,
 * `jobs`, `quarantine` or `tracking` → elsewhere) would make readers list, hash, move or write
 * files outside it; such links are found here, reported as damage, and nothing goes through them.
 * Links that stay inside the run are left alone.
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isWithin, realPath } from '../real-path.js';
import { ensureDir } from './atomic.js';
import { RunDamaged } from './damage.js';

/** Where a link leads, symlinks resolved; also for a dangling link (writing through it would create its target). */
export function linkTarget(link: string): string {
  return realPath(resolve(dirname(link), readlinkSync(link)));
}

export interface LeavingLink {
  /** The link (absolute, inside the run). */
  link: string;
  /** Where it leads (absolute, outside the run). */
  target: string;
}

/**
 * Links under `dir`, down to `depth` levels (the run's folders, each round's folders and their
 * shard files), whose target lies outside `dir`. Never descends through a link; model folders
 * deeper down are checked entry by entry when they are hashed (digest.ts).
 */
export function linksLeaving(dir: string, depth = 3): LeavingLink[] {
  const root = realPath(dir);
  const out: LeavingLink[] = [];
  const walk = (d: string, left: number) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isSymbolicLink()) {
        const target = linkTarget(p);
        if (!isWithin(target, root)) out.push({ link: p, target });
      } else if (e.isDirectory() && left > 1) walk(p, left - 1);
    }
  };
  walk(dir, depth);
  return out;
}

/** Words for a link leaving the run, for damage reports and refusals. */
export function leavingWords(l: LeavingLink): string {
  return `is a symbolic link to ${l.target}, outside the run directory; nothing is read, moved or written through it (remove the link itself: rm ${JSON.stringify(l.link)})`;
}

/**
 * The run's folder `name` (`jobs`, `logs`, `quarantine`, ...), created when missing; `RunDamaged`
 * when it resolves outside the run (a link), so nothing is written there.
 */
export function runFolder(runDir: string, name: string): string {
  const dir = join(runDir, name);
  let link = false;
  try {
    link = lstatSync(dir).isSymbolicLink();
  } catch {
    // missing: created below
  }
  const target = link ? linkTarget(dir) : realPath(dir);
  if (!isWithin(target, realPath(runDir)))
    throw new RunDamaged(
      dir,
      `resolves to ${target}, outside the run directory (a symbolic link); nothing was written there`,
      `remove the link: rm ${JSON.stringify(dir)}`,
    );
  ensureDir(dir);
  return dir;
}
