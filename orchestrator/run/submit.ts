/**
 * `ipa submit`: create the run directory, record it in the user's run registry (so its id is
 * found wherever the directory is) and queue round 0 (prepare → warm-up → eval → advance).
 */
import { rootLogger } from '../log.js';
import { registerOnQueue } from '../queue/run-registration.js';
import { queueFrontier } from './queue-round.js';
import type { QueueSet } from '../queue/queues.js';
import { checkEvictionPolicy } from '../queue/redis-policy.js';
import type { Recipe } from '../recipe/schema.js';
import { writeManifest } from '../store/manifest.js';
import { registerRun } from '../store/run-registry.js';
import { RunStore } from '../store/run-store.js';

export async function submitRun(opts: {
  recipe: Recipe;
  recipeFile: string;
  runsDir?: string;
  queues: QueueSet;
  id?: string;
  allowEviction?: boolean;
}): Promise<RunStore> {
  // Before anything is written: a Redis that evicts keys would lose the run's jobs.
  await checkEvictionPolicy(opts.queues.connection, { allow: opts.allowEviction });
  const store = RunStore.create({
    runsDir: opts.runsDir ?? opts.recipe.runs_dir,
    recipe: opts.recipe,
    recipeFile: opts.recipeFile,
    queuePrefix: opts.queues.prefix,
    id: opts.id,
  });
  const unregistered = registerRun({ id: store.id, dir: store.dir, created_at: store.info().created_at });
  if (unregistered)
    rootLogger.warn({ run: store.id }, `${unregistered}; find the run by its directory or with --runs-dir`);
  await opts.queues.applyConcurrency(opts.recipe);
  await registerOnQueue(opts.queues, store.id, store.dir);
  await queueFrontier(store, opts.recipe, 0, opts.queues);
  writeManifest(store);
  return store;
}
