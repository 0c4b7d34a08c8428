import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frontier, predecessors, successor, type Link } from '../../orchestrator/plan/chain.js';
import { flattenPlan, planPreparation, planRound } from '../../orchestrator/plan/planner.js';
import { jobId } from '../../orchestrator/plan/stages.js';
import { RecipeSchema, type Recipe } from '../../orchestrator/recipe/schema.js';

const recipe = (extra: Record<string, unknown> = {}): Recipe =>
  RecipeSchema.parse({ name: 'p', model: { base: '/m' }, ...extra });
const key = (l: Link) => `${l.stage}.${l.round}.${l.shard}`;
const idOf = (l: Link) => jobId({ runId: 'run', ...l });

/** Runs a round the way agents do: take any queued job, mark it done, queue what follows. */
function simulate(r: Recipe, round: number, shards: number, pick: (n: number) => number): string[] {
  const done = new Set<string>();
  const finished = new Set<number>();
  const order: string[] = [];
  let queue = frontier(r, 'run', round, shards, done);
  while (queue.length) {
    const [job] = queue.splice(pick(queue.length), 1);
    for (const p of predecessors(r, round, job.stage, job.shard, shards))
      expect(done.has(idOf(p)), `${key(job)} ran before ${key(p)}`).toBe(true);
    done.add(idOf(job));
    order.push(key(job));
    const next = successor(r, round, job.stage, job.shard);
    if (next.kind === 'next') queue.push(next.link);
    if (next.kind === 'fan-in') {
      finished.add(job.shard);
      if (finished.size === shards) queue.push(next.link);
    }
  }
  return order;
}

describe('chains: what runs next', () => {
  it('starts a round with each shard’s first stage, round 0 with prepare', () => {
    expect(frontier(recipe(), 'run', 1, 3, new Set()).map(key)).toEqual(['sample.1.0', 'sample.1.1', 'sample.1.2']);
    expect(frontier(recipe(), 'run', 0, 0, new Set()).map(key)).toEqual(['prepare.0.0']);
    // The sft_reference baseline has nothing per shard: the round starts at train.
    expect(
      frontier(recipe({ rounds: [{}], training: { objective: 'sft_reference' } }), 'run', 1, 3, new Set()).map(key),
    ).toEqual(['train.1.0']);
  });

  it('resumes each shard after its last finished stage, and the round once every shard is finished', () => {
    const done = new Set([idOf({ stage: 'verify', round: 1, shard: 0 }), idOf({ stage: 'pair', round: 1, shard: 1 })]);
    expect(frontier(recipe(), 'run', 1, 2, done).map(key)).toEqual(['revise.1.0']);
    done.add(idOf({ stage: 'pair', round: 1, shard: 0 }));
    expect(frontier(recipe(), 'run', 1, 2, done).map(key)).toEqual(['train.1.0']);
    done.add(idOf({ stage: 'eval', round: 1, shard: 0 }));
    expect(frontier(recipe(), 'run', 1, 2, done).map(key)).toEqual(['advance.1.0']);
    done.add(idOf({ stage: 'advance', round: 1, shard: 0 }));
    expect(frontier(recipe(), 'run', 1, 2, done)).toEqual([]);
  });

  it('names the successor, the fan-in after each shard’s last stage, and nothing after advance', () => {
    expect(successor(recipe(), 1, 'sample', 4)).toEqual({
      kind: 'next',
      link: { stage: 'verify', round: 1, shard: 4 },
    });
    expect(successor(recipe(), 1, 'pair', 4)).toEqual({ kind: 'fan-in', link: { stage: 'train', round: 1, shard: 0 } });
    expect(successor(recipe({ rounds: [{ revision: false }] }), 1, 'verify', 0)).toEqual({
      kind: 'next',
      link: { stage: 'pair', round: 1, shard: 0 },
    });
    expect(successor(recipe(), 1, 'train', 0)).toEqual({ kind: 'next', link: { stage: 'eval', round: 1, shard: 0 } });
    expect(successor(recipe(), 0, 'prepare', 0)).toEqual({ kind: 'next', link: { stage: 'eval', round: 0, shard: 0 } });
    expect(successor(recipe(), 1, 'advance', 0)).toEqual({ kind: 'none' });
    expect(predecessors(recipe(), 1, 'train', 0, 3).map(key)).toEqual(['pair.1.0', 'pair.1.1', 'pair.1.2']);
    expect(predecessors(recipe(), 1, 'sample', 2, 3)).toEqual([]);
  });

  it('runs every job of the plan exactly once, each after its prerequisites, in any order agents take them', () => {
    const recipes = [
      recipe(),
      recipe({ rounds: [{ revision: false }] }),
      recipe({ eval: { after: 'none' } }),
      recipe({ rounds: [{}], training: { objective: 'sft_reference' } }),
      recipe({ warmup: { sft: { enabled: true } } }),
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: recipes.length - 1 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
        (ri, shards, picks) => {
          const r = recipes[ri];
          let i = 0;
          for (const round of [0, 1]) {
            const ran = simulate(r, round, round === 0 ? 0 : shards, (n) => picks[i++ % picks.length] % n);
            const plan = round === 0 ? planPreparation(r, 'run') : planRound(r, 'run', 1, shards);
            expect([...ran].sort()).toEqual(flattenPlan(plan).map(key).sort());
          }
        },
      ),
    );
  });
});
