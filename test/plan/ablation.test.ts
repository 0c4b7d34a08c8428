import { describe, expect, it } from 'vitest';
import { ablationRows, ablationTable, noContrastiveVariant, sameOrdering } from '../../orchestrator/report/ablation.js';
import type { RoundResult } from '../../orchestrator/report/results.js';

const res = (accs: number[]): RoundResult[] =>
  accs.map((a, round) => ({ round, heldout_accuracy: a, heldout_by_task: {} }) as unknown as RoundResult);

describe('ablation', () => {
  it('builds the no-contrastive variant as one round with contrastive off, at the same sample budget', () => {
    const v = noContrastiveVariant({
      name: 'x',
      model: { base: 'm' },
      sampling: { num_normal: 4, num_contrastive: 3 },
      rounds: [{ name: 'a', revision: true }, {}, {}],
    });
    expect(v.rounds).toEqual([{ name: 'a', revision: true, contrastive: false }]);
    expect(v.name).toBe('x-nocontrastive');
    expect(v.sampling).toMatchObject({ num_normal: 7, num_contrastive: 0 });
    // the schema's defaults (4 + 4) when the recipe leaves them out
    expect(noContrastiveVariant({ name: 'x', model: { base: 'm' } }).sampling).toMatchObject({
      num_normal: 8,
      num_contrastive: 0,
    });
  });

  it('takes baseline and rounds 1–3 from the full run, row 2 from the variant', () => {
    const rows = ablationRows(res([0.3, 0.4, 0.45, 0.5]), res([0.3, 0.35]));
    expect(rows.map((r) => r.ours)).toEqual([30, 35, 40, 45, 50]);
    expect(sameOrdering(rows)).toBe(true);
    expect(ablationTable(rows)).toContain('| + round 3 | 70.5 | 50.0 |');
  });

  it('flags an ordering the paper does not have', () => {
    expect(sameOrdering(ablationRows(res([0.3, 0.4, 0.35, 0.5]), res([0.3, 0.35])))).toBe(false);
  });
});
