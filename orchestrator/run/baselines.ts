/**
 * Runs the baselines comparison (report/baselines.ts) through the queue: per seed, the IPA run
 * first; once its warm-up model exists, the three one-round baselines that start from it. Every
 * variant is written beside the recipe (so its relative paths resolve the same way) as
 * `.<name>-s<seed>[-<variant>].ablate.yaml`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { ExitCode, IpaError } from '../errors.js';
import { SFT_MODEL_DIR } from '../plan/paths.js';
import { jobId } from '../plan/stages.js';
import { loadRecipe } from '../recipe/load.js';
import type { RecipeInput } from '../recipe/schema.js';
import {
  BASELINE_VARIANTS,
  baselineVariant,
  ROWS,
  seededRecipe,
  type BaselineVariant,
  type SeedResults,
} from '../report/baselines.js';
import { evalItems, roundResults } from '../report/results.js';
import { FINAL_STATES, type RunStore } from '../store/run-store.js';
import type { QueueSet } from '../queue/queues.js';
import { submitRun } from './submit.js';
import { waitForRun } from './wait.js';

export interface BaselinesOptions {
  recipeFile: string;
  seeds: number[];
  queues: QueueSet;
  runsDir?: string;
  split?: 'heldout' | 'validation';
  /** Told about every run submitted. */
  onSubmit?: (label: string, store: RunStore) => void;
  pollMs?: number;
}

function writeVariant(recipeFile: string, name: string, recipe: RecipeInput): string {
  const file = join(dirname(recipeFile), `.${name}.ablate.yaml`);
  writeFileSync(file, stringify(recipe));
  return file;
}

export async function submitVariant(opts: BaselinesOptions, label: string, recipe: RecipeInput): Promise<RunStore> {
  const file = writeVariant(opts.recipeFile, String(recipe.name), recipe);
  const store = await submitRun({
    recipe: loadRecipe(file).recipe,
    recipeFile: file,
    queues: opts.queues,
    runsDir: opts.runsDir,
  });
  opts.onSubmit?.(label, store);
  return store;
}

/** Resolves once the run's warm-up model is published (its sft job has a done record). */
export async function warmModel(store: RunStore, pollMs: number): Promise<string> {
  const id = jobId({ runId: store.id, round: 0, stage: 'sft', shard: 0 });
  for (;;) {
    if (store.doneRecord(id) && existsSync(store.abs(SFT_MODEL_DIR))) return store.abs(SFT_MODEL_DIR);
    const state = store.info().state;
    if (FINAL_STATES.has(state))
      throw new IpaError(`run ${store.id} ended ${state} before its warm-up model was ready`, ExitCode.failed);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function oneSeed(opts: BaselinesOptions, source: RecipeInput, seed: number): Promise<SeedResults> {
  const ipaRecipe = seededRecipe(source, seed, opts.split);
  const ipa = await submitVariant(opts, `seed ${seed}: IPA`, ipaRecipe);
  const warm = await warmModel(ipa, opts.pollMs ?? 1000);
  const runsRoot = dirname(ipa.dir);
  const stores = {} as Record<BaselineVariant, RunStore>;
  for (const v of BASELINE_VARIANTS)
    stores[v] = await submitVariant(opts, `seed ${seed}: ${v}`, baselineVariant(ipaRecipe, v, warm, runsRoot));
  const all = [ipa, ...Object.values(stores)];
  const states = await Promise.all(all.map((s) => waitForRun(s, { pollMs: opts.pollMs })));
  const bad = all.filter((_, i) => states[i] !== 'completed');
  if (bad.length)
    throw new IpaError(
      `baseline runs did not complete: ${bad.map((s) => `${s.id} (${s.info().state})`).join(', ')}`,
      ExitCode.failed,
    );
  const results: SeedResults = {
    seed,
    ipa: roundResults(ipa),
    nocontrastive: roundResults(stores.nocontrastive),
    rft: roundResults(stores.rft),
    sftref: roundResults(stores.sftref),
    oracle: roundResults(stores.oracle),
  };
  // Each row's per-item outcomes, for the paired comparisons (report/premise-comparison.ts).
  results.items = Object.fromEntries(
    ROWS.map(({ row, run, round }) => {
      const store = run === 'ipa' ? ipa : stores[run];
      return [row, { success: evalItems(store, round, 'success'), facts: evalItems(store, round, 'facts_ok') }];
    }),
  );
  results.runs = Object.fromEntries([['ipa', ipa.id], ...Object.entries(stores).map(([v, st]) => [v, st.id])]);
  return results;
}

/** Every seed's runs, submitted at once (the workers share them out), and their results. */
export async function runBaselines(opts: BaselinesOptions): Promise<SeedResults[]> {
  if (!opts.seeds.length) throw new IpaError('no seeds given', ExitCode.usage);
  const source = parseYaml(readFileSync(opts.recipeFile, 'utf8')) as RecipeInput;
  return Promise.all(opts.seeds.map((seed) => oneSeed(opts, source, seed)));
}
