/**
 * Containment of paths, symlinks resolved: the one rule behind "a recipe path stays inside the
 * allowed roots" and "a job touches nothing outside its run directory". Bottom layer: pure Node.
 */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** The real path of `p`, or of its deepest existing ancestor joined with the rest (symlinks cannot escape a root). */
export function realPath(p: string): string {
  const rest: string[] = [];
  let cur = resolve(p);
  for (;;) {
    try {
      return resolve(realpathSync.native(cur), ...rest.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return resolve(p);
      rest.push(cur.slice(parent.length).replace(/^[\\/]+/, ''));
      cur = parent;
    }
  }
}

/** Whether `p` is `root` or lies below it (both taken as given: call `realPath` first for symlinks). */
export function isWithin(p: string, root: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Whether `p`, symlinks resolved, stays inside `root`, symlinks resolved. */
export function staysInside(p: string, root: string): boolean {
  return isWithin(realPath(p), realPath(root));
}
