/** A run's preference pairs as content, for comparing runs that should have built the same ones. */
import { readdirSync } from 'node:fs';
import { readJsonl } from '../../orchestrator/store/atomic.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';

/** Pairs without run-specific fields, in a stable order. */
export function canonicalPairs(store: RunStore): string[] {
  const out: string[] = [];
  for (const d of readdirSync(store.dir)
    .filter((x) => x.startsWith('round-'))
    .sort()) {
    const dir = store.abs(`${d}/pairs`);
    let files: string[] = [];
    try {
      files = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const f of files)
      for (const p of readJsonl(`${dir}/${f}`))
        out.push(JSON.stringify([p.seed_id, p.prompt, p.chosen, p.rejected, p.images]));
  }
  return out.sort();
}
