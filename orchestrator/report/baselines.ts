/**
 * IPA against the simple alternatives a researcher tries first, at the same seeds and sample
 * budget, over several run seeds (`ipa ablate --baselines`):
 * - warm-up only (the starting model);
 * - SFT on the seeds' reference answers (no sampling at all);
 * - RFT: SFT on the model's own verified samples (IPA round 1's samples and verifier);
 * - oracle SFT on the synthetic task's checker-made ideal answers (the upper bound);
 * - IPA round 1 without contrastive samples, with K + K' normal samples so the budget matches;
 * - IPA round 1, + round 2, + round 3 (one three-round run).
 * The baselines start from the same warm-up model as the IPA run of their seed (its
 * models/sft), so the only difference is what happens after it. Rows report the mean and the
 * sample standard deviation over seeds, in points, beside the paper's ablation where it has one;
 * on the premise task also fact accuracy and compliance, and paired per-seed differences with a
 * paired bootstrap interval (report/paired.ts).
 */
import { PAPER_ABLATION, withoutContrastive } from './ablation.js';
import type { RecipeInput } from '../recipe/schema.js';
import type { RoundResult } from './results.js';
import type { Outcomes } from './paired.js';

export const BASELINE_VARIANTS = ['nocontrastive', 'rft', 'sftref', 'oracle'] as const;
export type BaselineVariant = (typeof BASELINE_VARIANTS)[number];

/** The IPA recipe at one run seed (sampling and training draws), scoring `split` when given. */
export function seededRecipe(recipe: RecipeInput, seed: number, split?: 'heldout' | 'validation'): RecipeInput {
  const training = recipe.training ?? {};
  const data = recipe.data ?? {};
  return {
    ...recipe,
    name: `${recipe.name}-s${seed}`,
    seed,
    training: { ...training, dpo: { ...(training.dpo ?? {}), seed } },
    data: split ? { ...data, synthetic: { ...(data.synthetic ?? {}), eval_split: split } } : data,
  };
}

/**
 * A one-round baseline of `ipa` (a seeded recipe) starting from `warmModel`, the warm-up model its
 * IPA run trained. `runsRoot` (the IPA run's runs folder) becomes an allowed root so the path is
 * accepted wherever the runs live.
 */
export function baselineVariant(
  ipa: RecipeInput,
  variant: BaselineVariant,
  warmModel: string,
  runsRoot: string,
): RecipeInput {
  const first = ipa.rounds?.[0] ?? {};
  const training = ipa.training ?? {};
  const base: RecipeInput = {
    ...ipa,
    name: `${ipa.name}-${variant}`,
    allowed_roots: [...(ipa.allowed_roots ?? []), runsRoot],
    model: { ...ipa.model, base: warmModel, build_tiny: false },
    warmup: { ...(ipa.warmup ?? {}), sft: { ...(ipa.warmup?.sft ?? {}), enabled: false } },
    eval: { ...(ipa.eval ?? {}), after: 'final' },
    rounds: [{ ...first, name: variant }],
  };
  switch (variant) {
    case 'nocontrastive':
      return withoutContrastive(base, variant);
    case 'rft':
      // Everything as in IPA round 1 (samples, verifier, revisions); only the objective differs.
      return { ...base, training: { ...training, objective: 'rft' } };
    case 'sftref':
      return { ...base, training: { ...training, objective: 'sft_reference' } };
    case 'oracle':
      return { ...base, training: { ...training, objective: 'sft_oracle' } };
  }
}

/** One seed's finished runs, as per-round results, and the evaluations' per-item outcomes by row. */
export interface SeedResults {
  seed: number;
  ipa: RoundResult[];
  nocontrastive: RoundResult[];
  rft: RoundResult[];
  sftref: RoundResult[];
  oracle: RoundResult[];
  /** Row name → per-item outcomes (success, and facts_ok under `facts`), where the task has them. */
  items?: Record<string, { success: Outcomes | null; facts: Outcomes | null }>;
  /** The run ids, by variant (`ipa` and the baselines). */
  runs?: Record<string, string>;
}

export interface BaselineRow {
  row: string;
  /** The paper's ablation figure for this row (Qwen2-VL-7B, mean of 7 benchmarks), where it has one. */
  paper: number | null;
  /** Held-out accuracy (premise task: success) in points, per seed (null where a run did not evaluate). */
  perSeed: Array<number | null>;
  mean: number | null;
  std: number | null;
  /** Premise task: fact accuracy and compliance in points, per seed. */
  facts: Array<number | null>;
  compliance: Array<number | null>;
}

export const ROW = {
  warmup: 'warm-up only',
  sftref: 'SFT on the seed references',
  rft: 'RFT (SFT on verified samples)',
  oracle: 'oracle SFT on checker-made answers (upper bound)',
  nocontrastive: 'IPA round 1 without contrastive (same samples)',
  r1: 'IPA round 1',
  r2: 'IPA + round 2',
  r3: 'IPA + round 3',
} as const;

/** Which run (the IPA run or a baseline's) and which of its rounds each row reads. */
export const ROWS: Array<{ row: string; paper: string | null; run: 'ipa' | BaselineVariant; round: number }> = [
  { row: ROW.warmup, paper: 'baseline', run: 'ipa', round: 0 },
  { row: ROW.sftref, paper: null, run: 'sftref', round: 1 },
  { row: ROW.rft, paper: null, run: 'rft', round: 1 },
  { row: ROW.oracle, paper: null, run: 'oracle', round: 1 },
  { row: ROW.nocontrastive, paper: 'round 1 without contrastive', run: 'nocontrastive', round: 1 },
  { row: ROW.r1, paper: 'round 1', run: 'ipa', round: 1 },
  { row: ROW.r2, paper: '+ round 2', run: 'ipa', round: 2 },
  { row: ROW.r3, paper: '+ round 3', run: 'ipa', round: 3 },
];

/** Mean and sample standard deviation (n − 1) of the non-null values; std needs two. */
export function meanStd(values: Array<number | null>): { mean: number | null; std: number | null } {
  const xs = values.filter((v): v is number => v !== null);
  if (!xs.length) return { mean: null, std: null };
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  if (xs.length < 2) return { mean, std: null };
  return { mean, std: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) };
}

const points = (v: number | null | undefined) => (v === null || v === undefined ? null : 100 * v);

export function baselineRows(seeds: SeedResults[]): BaselineRow[] {
  return ROWS.map(({ row, paper, run, round }) => {
    const at = (s: SeedResults) => s[run].find((r) => r.round === round);
    const perSeed = seeds.map((s) => points(at(s)?.heldout_accuracy));
    return {
      row,
      paper: PAPER_ABLATION.find((p) => p.row === paper)?.paper ?? null,
      perSeed,
      ...meanStd(perSeed),
      facts: seeds.map((s) => points(at(s)?.fact_accuracy)),
      compliance: seeds.map((s) => points(at(s)?.compliance)),
    };
  });
}

const f1 = (v: number | null) => (v === null ? '–' : v.toFixed(1));

export function baselinesTable(rows: BaselineRow[], seeds: number[], split: string): string {
  const head = [
    'row',
    `ours: mean ± std over ${seeds.length} seeds (${split} split, points)`,
    ...seeds.map((s) => `seed ${s}`),
    'paper (Qwen2-VL-7B, mean of 7 benchmarks)',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const ours = r.mean === null ? '–' : r.std === null ? f1(r.mean) : `${f1(r.mean)} ± ${f1(r.std)}`;
    lines.push(`| ${[r.row, ours, ...r.perSeed.map(f1), f1(r.paper)].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Premise task: each row's fact accuracy and compliance per seed (points), beside success. */
export function factsComplianceTable(rows: BaselineRow[], seeds: number[]): string {
  if (!rows.some((r) => r.facts.some((v) => v !== null))) return '';
  const head = [
    'row',
    ...seeds.map((s) => `seed ${s}: facts / compliance / success`),
    'mean facts / compliance / success',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = seeds.map((_, i) => `${f1(r.facts[i])} / ${f1(r.compliance[i])} / ${f1(r.perSeed[i])}`);
    const m = (xs: Array<number | null>) => f1(meanStd(xs).mean);
    lines.push(`| ${[r.row, ...cells, `${m(r.facts)} / ${m(r.compliance)} / ${m(r.perSeed)}`].join(' | ')} |`);
  }
  return lines.join('\n');
}
