import { describe, expect, it } from 'vitest';
import {
  baselineRows,
  baselinesTable,
  baselineVariant,
  meanStd,
  seededRecipe,
  type SeedResults,
} from '../../orchestrator/report/baselines.js';
import type { RoundResult } from '../../orchestrator/report/results.js';
import { RecipeSchema, type RecipeInput } from '../../orchestrator/recipe/schema.js';

const recipe: RecipeInput = {
  name: 'tiny',
  seed: 7,
  model: { base: '../m', build_tiny: true },
  data: { synthetic: { enabled: true, train_size: 10 } },
  warmup: { sft: { enabled: true } },
  sampling: { num_normal: 4, num_contrastive: 3 },
  rounds: [{ name: 'automated' }, {}, { reference_guided: true }],
  training: { dpo: { beta: 0.2 } },
};

const rounds = (accs: Array<number | null>): RoundResult[] =>
  accs.map((a, round) => ({ round, heldout_accuracy: a }) as unknown as RoundResult);

describe('baselines', () => {
  it('seeds sampling and training draws, and scores the asked split', () => {
    const r = seededRecipe(recipe, 8, 'validation');
    expect(r).toMatchObject({
      name: 'tiny-s8',
      seed: 8,
      training: { dpo: { beta: 0.2, seed: 8 } },
      data: { synthetic: { eval_split: 'validation', train_size: 10 } },
    });
    expect(RecipeSchema.safeParse({ ...r, model: { base: '/m' } }).success).toBe(true);
  });

  it("starts every baseline from the IPA run's warm-up model, one round, evaluated at the end", () => {
    const ipa = seededRecipe(recipe, 7);
    for (const v of ['nocontrastive', 'rft', 'sftref'] as const) {
      const b = baselineVariant(ipa, v, '/runs/tiny-s7-x/models/sft', '/runs');
      expect(b).toMatchObject({
        name: `tiny-s7-${v}`,
        model: { base: '/runs/tiny-s7-x/models/sft', build_tiny: false },
        warmup: { sft: { enabled: false } },
        eval: { after: 'final' },
      });
      expect(b.rounds).toHaveLength(1);
      expect(b.allowed_roots).toContain('/runs');
      expect(RecipeSchema.safeParse(b).success).toBe(true);
    }
  });

  it('matches the sample budget without contrastive samples, and changes only the objective for RFT', () => {
    const ipa = seededRecipe(recipe, 7);
    const noc = baselineVariant(ipa, 'nocontrastive', '/w', '/r');
    expect(noc.sampling).toMatchObject({ num_normal: 7, num_contrastive: 0 });
    expect(noc.rounds![0].contrastive).toBe(false);
    const rft = baselineVariant(ipa, 'rft', '/w', '/r');
    expect(rft.sampling).toEqual(ipa.sampling);
    expect(rft.training).toMatchObject({ objective: 'rft', dpo: { beta: 0.2, seed: 7 } });
    expect(baselineVariant(ipa, 'sftref', '/w', '/r').training).toMatchObject({ objective: 'sft_reference' });
  });

  it('averages over seeds with the sample standard deviation', () => {
    expect(meanStd([10, 20, 30])).toEqual({ mean: 20, std: 10 });
    expect(meanStd([null, 5])).toEqual({ mean: 5, std: null });
    expect(meanStd([])).toEqual({ mean: null, std: null });
  });

  it('builds every row from the right run and round, with the paper beside', () => {
    const seed = (s: number, d: number): SeedResults => ({
      seed: s,
      ipa: rounds([0.2 + d, 0.4 + d, 0.45 + d, 0.5 + d]),
      nocontrastive: rounds([0.2 + d, 0.35 + d]),
      rft: rounds([0.2 + d, 0.38 + d]),
      sftref: rounds([0.2 + d, 0.3 + d]),
      oracle: rounds([0.2 + d, 0.9 + d]),
    });
    const rows = baselineRows([seed(7, 0), seed(8, 0.02)]);
    const by = Object.fromEntries(rows.map((r) => [r.row, r]));
    expect(by['warm-up only'].perSeed[0]).toBeCloseTo(20);
    expect(by['warm-up only'].paper).toBe(68.1);
    expect(by['SFT on the seed references'].mean).toBeCloseTo(31);
    expect(by['RFT (SFT on verified samples)'].paper).toBeNull();
    expect(by['IPA round 1 without contrastive (same samples)'].paper).toBe(69.1);
    expect(by['IPA + round 3'].mean).toBeCloseTo(51);
    expect(by['IPA + round 3'].std).toBeCloseTo(Math.SQRT2);
    const table = baselinesTable(rows, [7, 8], 'heldout');
    expect(table).toContain('| IPA + round 3 | 51.0 ± 1.4 | 50.0 | 52.0 | 70.5 |');
    expect(table).toContain('| RFT (SFT on verified samples) | 39.0 ± 1.4 | 38.0 | 40.0 | – |');
  });
});
