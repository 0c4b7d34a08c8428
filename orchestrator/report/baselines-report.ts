/**
 * The whole `ipa ablate --baselines` report as markdown: the rows per seed, the premise task's
 * fact accuracy and compliance, the paired comparisons, the pre-registered criterion and the
 * noise floor (a seed listed twice is run twice: the second run is the noise floor, and only the
 * first counts in the rows and comparisons).
 */
import { baselineRows, baselinesTable, factsComplianceTable, ROWS, type SeedResults } from './baselines.js';
import { comparisons, comparisonTable, noiseFloorTable, premiseCriterion } from './premise-comparison.js';

/** The first run of each seed, and the reruns (a seed given again) beside the run they repeat. */
export function splitReruns(results: SeedResults[]): {
  unique: SeedResults[];
  reruns: Array<[SeedResults, SeedResults]>;
} {
  const unique: SeedResults[] = [];
  const reruns: Array<[SeedResults, SeedResults]> = [];
  for (const r of results) {
    const first = unique.find((u) => u.seed === r.seed);
    if (first) reruns.push([first, r]);
    else unique.push(r);
  }
  return { unique, reruns };
}

export function baselinesMarkdown(results: SeedResults[], split: string): string {
  const { unique, reruns } = splitReruns(results);
  const seeds = unique.map((s) => s.seed);
  const rows = baselineRows(unique);
  const out = [`## Variants (${split} split)`, '', baselinesTable(rows, seeds, split)];
  const fc = factsComplianceTable(rows, seeds);
  if (fc) out.push('', '### Fact accuracy / compliance / success (points)', '', fc);
  const premise = unique.some((s) => s.items && Object.values(s.items).some((i) => i.success));
  if (premise) {
    out.push(
      '',
      '### Paired differences (IPA = the policy after round 3; round 1 where named)',
      '',
      comparisonTable(comparisons(unique), seeds),
    );
    const c = premiseCriterion(unique);
    out.push(
      '',
      `### Pre-registered criterion: ${c.cannotJudge ? 'CANNOT JUDGE (warm-up gate)' : c.met ? 'MET' : 'NOT MET'}`,
      '',
      ...c.lines.map((l) => `- ${l}`),
    );
    for (const [first, rerun] of reruns)
      out.push(
        '',
        `### Noise floor: seed ${first.seed} run twice`,
        '',
        noiseFloorTable(
          first,
          rerun,
          ROWS.map((r) => r.row),
        ),
      );
  }
  return out.join('\n');
}
