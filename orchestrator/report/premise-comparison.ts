/**
 * The premise demo's decision (docs/premise-preregistration.md): paired per-seed differences of
 * held-out success between IPA and each alternative, with paired bootstrap intervals
 * (report/paired.ts), the pre-registered criterion checked mechanically, and the noise floor
 * (the same seed run twice: what differences between identical runs look like).
 */
import { ROW, type SeedResults } from './baselines.js';
import { formatInterval, itemDifferences, pairedBootstrap, type Interval } from './paired.js';

/** IPA = the final policy after round 3 (the primary comparison), and round 1 for the secondary ones. */
export const COMPARISONS: Array<{ a: string; b: string }> = [
  { a: ROW.r3, b: ROW.sftref },
  { a: ROW.r3, b: ROW.warmup },
  { a: ROW.r3, b: ROW.rft },
  { a: ROW.r3, b: ROW.oracle },
  { a: ROW.r1, b: ROW.sftref },
  { a: ROW.r1, b: ROW.nocontrastive },
];

export interface Comparison {
  a: string;
  b: string;
  figure: 'success' | 'facts';
  perSeed: Interval[];
  pooled: Interval;
}

function diffs(s: SeedResults, a: string, b: string, figure: 'success' | 'facts'): number[] {
  const x = s.items?.[a]?.[figure];
  const y = s.items?.[b]?.[figure];
  return x && y ? itemDifferences(x, y) : [];
}

export function compare(
  seeds: SeedResults[],
  a: string,
  b: string,
  figure: 'success' | 'facts' = 'success',
): Comparison {
  const per = seeds.map((s) => diffs(s, a, b, figure));
  return { a, b, figure, perSeed: per.map((d) => pairedBootstrap([d])), pooled: pairedBootstrap(per) };
}

export function comparisons(seeds: SeedResults[]): Comparison[] {
  return [...COMPARISONS.map(({ a, b }) => compare(seeds, a, b)), compare(seeds, ROW.r3, ROW.warmup, 'facts')];
}

export function comparisonTable(cs: Comparison[], seeds: number[]): string {
  const head = ['difference (points)', ...seeds.map((s) => `seed ${s} [95 % paired bootstrap]`), 'pooled over seeds'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const c of cs) {
    const what = `${c.figure === 'facts' ? 'fact accuracy: ' : ''}${c.a} − ${c.b}`;
    lines.push(`| ${[what, ...c.perSeed.map(formatInterval), formatInterval(c.pooled)].join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * The pre-registered success criterion: on every seed, IPA after round 3 at least 10 points above
 * SFT on the references and at least 5 above the warm-up, each with its paired interval excluding
 * 0, and its fact accuracy no more than 2 points below the warm-up's. A seed whose warm-up failed
 * the warm-up gate (fact accuracy on validation) makes the comparison unable to judge.
 */
export function premiseCriterion(seeds: SeedResults[]): { met: boolean; cannotJudge: boolean; lines: string[] } {
  const vsRef = compare(seeds, ROW.r3, ROW.sftref);
  const vsWarm = compare(seeds, ROW.r3, ROW.warmup);
  const facts = compare(seeds, ROW.r3, ROW.warmup, 'facts');
  const lines: string[] = [];
  let met = seeds.length >= 5;
  if (!met) lines.push(`only ${seeds.length} seeds (the criterion needs at least 5)`);
  const gated = seeds.filter((s) => s.ipa.find((r) => r.round === 0)?.warmup_gate?.passed === false);
  for (const s of gated) {
    const g = s.ipa.find((r) => r.round === 0)!.warmup_gate!;
    lines.push(
      `seed ${s.seed}: the warm-up's fact accuracy on validation is ${((g.fact_accuracy ?? 0) * 100).toFixed(1)} %, below the gate's ${(g.level * 100).toFixed(0)} %: cannot judge`,
    );
  }
  seeds.forEach((s, i) => {
    const checks: Array<[boolean, string]> = [
      [
        vsRef.perSeed[i].diff >= 10 && vsRef.perSeed[i].lo > 0,
        `vs SFT on references ${formatInterval(vsRef.perSeed[i])} (needs ≥ +10, interval above 0)`,
      ],
      [
        vsWarm.perSeed[i].diff >= 5 && vsWarm.perSeed[i].lo > 0,
        `vs warm-up ${formatInterval(vsWarm.perSeed[i])} (needs ≥ +5, interval above 0)`,
      ],
      [facts.perSeed[i].diff >= -2, `fact accuracy vs warm-up ${formatInterval(facts.perSeed[i])} (needs ≥ −2)`],
    ];
    for (const [ok, text] of checks) {
      if (!ok) met = false;
      lines.push(`seed ${s.seed}: ${ok ? 'holds' : 'fails'}: ${text}`);
    }
  });
  return { met: met && !gated.length, cannotJudge: gated.length > 0, lines };
}

/** The same seed run twice: per row, the rerun's difference from the first run (what noise alone gives). */
export function noiseFloorTable(first: SeedResults, rerun: SeedResults, rows: string[]): string {
  const lines = ['| row | rerun − first run (points) [95 % paired bootstrap] |', '|---|---|'];
  for (const row of rows) {
    const x = rerun.items?.[row]?.success;
    const y = first.items?.[row]?.success;
    lines.push(`| ${row} | ${x && y ? formatInterval(pairedBootstrap([itemDifferences(x, y)])) : '–'} |`);
  }
  return lines.join('\n');
}
