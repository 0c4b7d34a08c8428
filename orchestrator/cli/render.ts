/** Text rendering of a run's state for `ipa status` / `ipa watch`. */
import type { Manifest } from '../store/manifest.js';

export function bar(done: number, total: number, width = 20): string {
  const f = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(f)}${'.'.repeat(width - f)}]`;
}

export function renderStatus(m: Manifest, active: Array<{ id: string; progress: unknown }> = []): string {
  const lines = [`run ${m.run.id}  state ${m.run.state}  jobs ${m.totals.done}/${m.totals.jobs}  recomputed ${m.totals.recomputed}`];
  if (m.run.error) lines.push(`error: ${m.run.error}`);
  for (const r of m.rounds) {
    if (!r.stages.length) {
      lines.push(`round ${r.round}: not started`);
      continue;
    }
    const ev = `  held-out acc ${r.eval?.overall == null ? '–' : `${(100 * r.eval.overall).toFixed(1)}%`}`;
    lines.push(`round ${r.round}${r.round > 0 ? ` (${r.shards} shards)` : ''}${ev}`);
    for (const s of r.stages) {
      lines.push(`  ${s.stage.padEnd(17)} ${bar(s.done, s.jobs)} ${String(s.done).padStart(3)}/${String(s.jobs).padEnd(3)} rows ${String(s.rows).padStart(6)}  attempts ${s.attempts}${s.failed_items ? `  failed items ${s.failed_items}` : ''}`);
    }
  }
  for (const a of active) {
    const p = a.progress as { done?: number; total?: number } | number | undefined;
    const txt = typeof p === 'object' && p && p.total ? `${p.done}/${p.total}` : JSON.stringify(p ?? '');
    lines.push(`  active ${a.id} ${txt}`);
  }
  return lines.join('\n');
}
