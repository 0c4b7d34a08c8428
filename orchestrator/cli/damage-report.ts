/** Damage in a run directory as lines a person reads (`ipa verify`, `ipa status`, `ipa resume`). */
import type { RepairResult } from '../run/repair.js';
import type { Damage, DamageKind } from '../store/integrity.js';

/** Singular and plural of each kind. */
const LABEL: Record<DamageKind, [string, string]> = {
  'run-file': ['unreadable run file', 'unreadable run files'],
  'unreadable-record': ['unreadable done record', 'unreadable done records'],
  'outside-run': ['path leaving the run directory', 'paths leaving the run directory'],
  'outside-link': ['link leaving the run directory', 'links leaving the run directory'],
  'missing-output': ['missing output', 'missing outputs'],
  'special-file': [
    'special file (pipe, device) in place of an output',
    'special files (pipes, devices) in place of outputs',
  ],
  'no-digest': ['output with no sha256 in its record', 'outputs with no sha256 in their records'],
  'hash-mismatch': ['hash mismatch', 'hash mismatches'],
  'stray-file': ['stray file', 'stray files'],
};

/** One block per problem: what, which file, why, and both hashes when they differ. */
export function damageLines(damage: readonly Damage[]): string[] {
  const lines: string[] = [];
  for (const d of damage) {
    lines.push(`  ${LABEL[d.kind][0]}: ${d.file}`, `    ${d.reason}`);
    if (d.expected)
      lines.push(`    sha256 in the done record ${d.expected}`, `    sha256 on disk           ${d.actual ?? '(none)'}`);
  }
  return lines;
}

/** "3 problems (1 hash mismatch, 2 stray files)". */
export function damageSummary(damage: readonly Damage[]): string {
  const counts = new Map<DamageKind, number>();
  for (const d of damage) counts.set(d.kind, (counts.get(d.kind) ?? 0) + 1);
  const parts = [...counts].map(([k, n]) => `${n} ${LABEL[k][n === 1 ? 0 : 1]}`);
  return `${damage.length} problem${damage.length === 1 ? '' : 's'} (${parts.join(', ')})`;
}

/** What resume found and set aside, in a few lines (`ipa resume`, and `ipa run RUN` continuing). */
export function repairLines(id: string, r: RepairResult): string[] {
  const lines = [`${id}: found ${damageSummary(r.damage)}`];
  if (r.damaged.length)
    lines.push(
      `  computing again: ${r.damaged.length} damaged job${r.damaged.length === 1 ? '' : 's'} (${r.damaged.map((j) => j.slice(id.length + 1)).join(', ')})`,
    );
  if (r.dependents.length)
    lines.push(
      `  and ${r.dependents.length} computed from them (${r.dependents.map((j) => j.slice(id.length + 1)).join(', ')})`,
    );
  if (r.quarantine) lines.push(`  their records and stray files moved to ${r.quarantine}/`);
  return lines;
}
