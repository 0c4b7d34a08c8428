/**
 * Where `ipa ablate` keeps what it printed: `<runs dir>/ablations/<recipe>-<time>/ablation.md`
 * (the tables) and `ablation.json` (every row, every seed's results and run ids), so a comparison
 * that took hours is not only in a terminal's scrollback. Run folders are left as they are.
 */
import { join } from 'node:path';
import { atomicWrite, atomicWriteJson, ensureDir } from '../store/atomic.js';

export function ablationDir(runsDir: string, name: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return join(runsDir, 'ablations', `${name}-${stamp}`);
}

/** Writes the two files atomically; returns the markdown's path. */
export function writeAblation(dir: string, markdown: string, json: unknown): string {
  ensureDir(dir);
  atomicWriteJson(join(dir, 'ablation.json'), json);
  const md = join(dir, 'ablation.md');
  atomicWrite(md, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return md;
}
