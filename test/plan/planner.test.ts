import { describe, expect, it } from 'vitest';
import {
  flattenPlan,
  planPreparation,
  planRound,
  roundSettings,
  shardRows,
  evaluatesAfter,
} from '../../orchestrator/plan/planner.js';
import { jobId, parseJobId } from '../../orchestrator/plan/stages.js';
import { RecipeSchema, type Recipe } from '../../orchestrator/recipe/schema.js';

const recipe = (extra: Record<string, unknown> = {}): Recipe =>
  RecipeSchema.parse({ name: 'p', model: { base: '/m' }, ...extra });
const ids = (n: ReturnType<typeof planRound>) => flattenPlan(n).map((x) => `${x.stage}.${x.round}.${x.shard}`);

describe('planner', () => {
  it('plans round 0 as prepare → eval → advance, with SFT when enabled', () => {
    expect(ids(planPreparation(recipe(), 'run'))).toEqual(['advance.0.0', 'eval.0.0', 'prepare.0.0']);
    expect(ids(planPreparation(recipe({ warmup: { sft: { enabled: true } } }), 'run'))).toEqual([
      'advance.0.0',
      'eval.0.0',
      'sft.0.0',
      'prepare.0.0',
    ]);
    expect(ids(planPreparation(recipe({ eval: { after: 'none' } }), 'run'))).toEqual(['advance.0.0', 'prepare.0.0']);
  });

  it('chains per-shard stages under train, eval and advance', () => {
    const plan = planRound(recipe(), 'run', 1, 2);
    expect(plan?.stage).toBe('advance');
    const train = plan!.children[0].children[0];
    expect(train.stage).toBe('train');
    expect(train.children).toHaveLength(2);
    expect(ids(train.children[1] as never)).toEqual([
      'pair.1.1',
      'verify_revisions.1.1',
      'revise.1.1',
      'verify.1.1',
      'sample.1.1',
    ]);
  });

  it('adds the report to the last round only and drops revision when the round turns it off', () => {
    const r = recipe({ rounds: [{ revision: false }, {}] });
    expect(ids(planRound(r, 'run', 1, 1))).toEqual([
      'advance.1.0',
      'eval.1.0',
      'train.1.0',
      'pair.1.0',
      'verify.1.0',
      'sample.1.0',
    ]);
    expect(ids(planRound(r, 'run', 2, 0))).toEqual(['advance.2.0', 'report.2.0', 'eval.2.0', 'train.2.0']);
  });

  it('plans no sampling for the sft_reference and sft_oracle baselines: they learn from the seeds alone', () => {
    const r = recipe({ rounds: [{}], training: { objective: 'sft_reference' } });
    expect(ids(planRound(r, 'run', 1, 3))).toEqual(['advance.1.0', 'report.1.0', 'eval.1.0', 'train.1.0']);
    const oracle = recipe({ rounds: [{}], training: { objective: 'sft_oracle' } });
    expect(ids(planRound(oracle, 'run', 1, 3))).toEqual(['advance.1.0', 'report.1.0', 'eval.1.0', 'train.1.0']);
    expect(ids(planRound(recipe({ rounds: [{}], training: { objective: 'rft' } }), 'run', 1, 1))).toContain(
      'sample.1.0',
    );
  });

  it('leaves out finished jobs and everything beneath them', () => {
    const done = new Set([
      jobId({ runId: 'run', round: 1, stage: 'verify', shard: 0 }),
      jobId({ runId: 'run', round: 1, stage: 'pair', shard: 1 }),
    ]);
    const all = ids(planRound(recipe(), 'run', 1, 2, done));
    expect(all).toContain('revise.1.0');
    expect(all).not.toContain('verify.1.0');
    expect(all).not.toContain('sample.1.0');
    expect(all.filter((x) => x.endsWith('.1.1'))).toEqual([]);
  });

  it('plans nothing once the round advanced', () => {
    const done = new Set([jobId({ runId: 'run', round: 1, stage: 'advance', shard: 0 })]);
    expect(planRound(recipe(), 'run', 1, 3, done)).toBeUndefined();
  });

  it('resolves round defaults: all seeds then challenging; self-evolution after round 1', () => {
    const r = recipe();
    expect(roundSettings(r, 1)).toMatchObject({ seeds: 'all', selfEvolve: false, referenceGuided: false });
    expect(roundSettings(r, 2)).toMatchObject({ seeds: 'challenging', selfEvolve: true, referenceGuided: false });
    expect(roundSettings(r, 3)).toMatchObject({ seeds: 'challenging', referenceGuided: true });
    expect(() => roundSettings(r, 4)).toThrow(RangeError);
  });

  it('evaluates per the recipe', () => {
    const r = recipe({ eval: { after: 'final' } });
    expect([0, 1, 2, 3].map((k) => evaluatesAfter(r, k))).toEqual([true, false, false, true]);
  });

  it('shards rows in order', () => {
    expect(shardRows([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(shardRows([], 4)).toEqual([]);
    expect(() => shardRows([1], 0)).toThrow(RangeError);
  });

  it('round-trips job ids', () => {
    const d = { runId: 'tiny-20261126-101500-ab12', round: 2, stage: 'verify_revisions' as const, shard: 7 };
    expect(jobId(d)).toBe('tiny-20261126-101500-ab12.r2.verify_revisions.s007');
    expect(parseJobId(jobId(d))).toEqual(d);
    expect(jobId(d)).not.toContain(':');
    expect(parseJobId('nonsense')).toBeUndefined();
  });
});
