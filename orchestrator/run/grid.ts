/**
 * Runs the tuning grid (report/grid.ts) through the queue: per seed, the IPA recipe's first round at
 * the grid's first DPO point (it trains the warm-up model every other point starts from), then
 * every other point as a one-round run from that warm-up model, all scoring the validation split.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ExitCode, IpaError } from '../errors.js';
import type { RecipeInput } from '../recipe/schema.js';
import { seededRecipe } from '../report/baselines.js';
import {
  gridPoints,
  gridVariant,
  pointName,
  type GridObjective,
  type GridPoint,
  type GridResult,
} from '../report/grid.js';
import { roundResults } from '../report/results.js';
import type { RunStore } from '../store/run-store.js';
import { submitVariant, warmModel, type BaselinesOptions } from './baselines.js';
import { waitForRun } from './wait.js';

export interface GridOptions extends Omit<BaselinesOptions, 'split'> {
  objectives: readonly GridObjective[];
  learningRates: number[];
  epochs: number[];
}

function result(store: RunStore, p: GridPoint, seed: number): GridResult {
  const r1 = roundResults(store).find((r) => r.round === 1);
  const train = store.doneRecords().find((r) => r.stage === 'train' && r.round === 1);
  const pts = (v: number | null | undefined) => (v === null || v === undefined ? null : 100 * v);
  const steps = train?.metrics.steps;
  return {
    ...p,
    seed,
    run: store.id,
    steps: typeof steps === 'number' ? steps : null,
    success: pts(r1?.heldout_accuracy),
    facts: pts(r1?.fact_accuracy),
    compliance: pts(r1?.compliance),
  };
}

async function oneSeed(opts: GridOptions, source: RecipeInput, seed: number): Promise<GridResult[]> {
  const ipa = seededRecipe(source, seed, 'validation');
  const points = gridPoints(opts.objectives, opts.learningRates, opts.epochs);
  const first = points.find((p) => p.objective === 'dpo');
  // The first DPO point is the IPA recipe's own round 1: its run also trains the warm-up model.
  const firstRecipe: RecipeInput | undefined = first && {
    ...ipa,
    name: `${ipa.name}-${pointName(first)}`,
    rounds: [ipa.rounds?.[0] ?? {}],
    training: {
      ...(ipa.training ?? {}),
      dpo: { ...(ipa.training?.dpo ?? {}), learning_rate: first.learning_rate, epochs: first.epochs },
    },
  };
  const warmRun = await submitVariant(
    { ...opts, split: 'validation' },
    `seed ${seed}: warm-up${first ? ` + ${pointName(first)}` : ''}`,
    firstRecipe ?? { ...ipa, name: `${ipa.name}-warmup`, rounds: [ipa.rounds?.[0] ?? {}] },
  );
  const warm = await warmModel(warmRun, opts.pollMs ?? 1000);
  const runs: Array<[GridPoint, RunStore]> = first ? [[first, warmRun]] : [];
  for (const p of points) {
    if (p === first) continue;
    runs.push([
      p,
      await submitVariant(
        { ...opts, split: 'validation' },
        `seed ${seed}: ${pointName(p)}`,
        gridVariant(ipa, p, warm, dirname(warmRun.dir)),
      ),
    ]);
  }
  const states = await Promise.all(runs.map(([, s]) => waitForRun(s, { pollMs: opts.pollMs })));
  const bad = runs.filter((_, i) => states[i] !== 'completed');
  if (bad.length)
    throw new IpaError(
      `grid runs did not complete: ${bad.map(([, s]) => `${s.id} (${s.info().state})`).join(', ')}`,
      ExitCode.failed,
    );
  return runs.map(([p, s]) => result(s, p, seed));
}

/** Every seed's grid, one seed after another (a seed's runs are submitted at once). */
export async function runGrid(opts: GridOptions): Promise<GridResult[]> {
  if (!opts.seeds.length) throw new IpaError('no seeds given', ExitCode.usage);
  const source = parseYaml(readFileSync(opts.recipeFile, 'utf8')) as RecipeInput;
  const out: GridResult[] = [];
  for (const seed of opts.seeds) out.push(...(await oneSeed(opts, source, seed)));
  return out;
}
