/**
 * IPA against the simple alternatives a researcher tries first, at the same seeds and sample
 * budget, over several run seeds (`ipa ablate --baselines`):
 * - warm-up only (the starting model);
 * - SFT on the seeds' reference answers (no sampling at all);
 * - RFT: SFT on the model's own verified samples (IPA round 1's samples and verifier);
 * - IPA round 1 without contrastive samples, with K + K' normal samples so the budget matches;
 * - IPA round 1, + round 2, + round 3 (one three-round run).
 * The baselines start from the same warm-up model as the IPA run of their seed (its
 * models/sft), so the only difference is what happens after it. Rows report the mean and the
 * sample standard deviation over seeds, in points, beside the paper's ablation where it has one.
 */
import { PAPER_ABLATION } from './ablation.js';
import type { RecipeInput } from '../recipe/schema.js';
import type { RoundResult } from './results.js';

export const BASELINE_VARIANTS = ['nocontrastive', 'rft', 'sftref'] as const;
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
export function baselineVariant(ipa: RecipeInput, variant: BaselineVariant, warmModel: string, runsRoot: string): RecipeInput {
  const first = ipa.rounds?.[0] ?? {};
  const sampling = ipa.sampling ?? {};
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
    case 'nocontrastive': {
      // The same samples per seed as IPA round 1, all of them on the real image.
      const k = (sampling.num_normal ?? 4) + (sampling.num_contrastive ?? 4);
      return { ...base, sampling: { ...sampling, num_normal: k, num_contrastive: 0 }, rounds: [{ ...first, name: variant, contrastive: false }] };
    }
    case 'rft':
      // Everything as in IPA round 1 (samples, verifier, revisions); only the objective differs.
      return { ...base, training: { ...training, objective: 'rft' } };
    case 'sftref':
      return { ...base, training: { ...training, objective: 'sft_reference' } };
  }
}

/** One seed's finished runs, as per-round results. */
export interface SeedResults {
  seed: number;
  ipa: RoundResult[];
  nocontrastive: RoundResult[];
  rft: RoundResult[];
  sftref: RoundResult[];
}

export interface BaselineRow {
  row: string;
  /** The paper's ablation figure for this row (Qwen2-VL-7B, mean of 7 benchmarks), where it has one. */
  paper: number | null;
  /** Held-out accuracy in points, per seed (null where a run did not evaluate). */
  perSeed: Array<number | null>;
  mean: number | null;
  std: number | null;
}

const ROWS: Array<{ row: string; paper: string | null; pick: (s: SeedResults) => RoundResult[]; round: number }> = [
  { row: 'warm-up only', paper: 'baseline', pick: (s) => s.ipa, round: 0 },
  { row: 'SFT on the seed references', paper: null, pick: (s) => s.sftref, round: 1 },
  { row: 'RFT (SFT on verified samples)', paper: null, pick: (s) => s.rft, round: 1 },
  { row: 'IPA round 1 without contrastive (same samples)', paper: 'round 1 without contrastive', pick: (s) => s.nocontrastive, round: 1 },
  { row: 'IPA round 1', paper: 'round 1', pick: (s) => s.ipa, round: 1 },
  { row: 'IPA + round 2', paper: '+ round 2', pick: (s) => s.ipa, round: 2 },
  { row: 'IPA + round 3', paper: '+ round 3', pick: (s) => s.ipa, round: 3 },
];

/** Mean and sample standard deviation (n − 1) of the non-null values; std needs two. */
export function meanStd(values: Array<number | null>): { mean: number | null; std: number | null } {
  const xs = values.filter((v): v is number => v !== null);
  if (!xs.length) return { mean: null, std: null };
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  if (xs.length < 2) return { mean, std: null };
  return { mean, std: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) };
}

export function baselineRows(seeds: SeedResults[]): BaselineRow[] {
  return ROWS.map(({ row, paper, pick, round }) => {
    const perSeed = seeds.map((s) => {
      const acc = pick(s).find((r) => r.round === round)?.heldout_accuracy ?? null;
      return acc === null ? null : 100 * acc;
    });
    return { row, paper: PAPER_ABLATION.find((p) => p.row === paper)?.paper ?? null, perSeed, ...meanStd(perSeed) };
  });
}

export function baselinesTable(rows: BaselineRow[], seeds: number[], split: string): string {
  const f = (v: number | null) => (v === null ? '–' : v.toFixed(1));
  const head = ['row', `ours: mean ± std over ${seeds.length} seeds (${split} split, points)`, ...seeds.map((s) => `seed ${s}`), 'paper (Qwen2-VL-7B, mean of 7 benchmarks)'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const ours = r.mean === null ? '–' : r.std === null ? f(r.mean) : `${f(r.mean)} ± ${f(r.std)}`;
    lines.push(`| ${[r.row, ours, ...r.perSeed.map(f), f(r.paper)].join(' | ')} |`);
  }
  return lines.join('\n');
}
