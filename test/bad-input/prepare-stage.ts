/**
 * Runs the real `prepare` stage the way an agent does: recipe file → validated recipe → run
 * directory → payload → a Python process over the bridge. Returns the seed and rejected rows.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildPayload } from '../../orchestrator/agent/payload.js';
import type { PythonProcess } from '../../orchestrator/bridge/python-process.js';
import { loadRecipe } from '../../orchestrator/recipe/load.js';
import { RunStore } from '../../orchestrator/store/run-store.js';
import { REPO, TINY_MODEL } from '../helpers/harness.js';

export interface Prepared {
  store: RunStore;
  seeds: Array<Record<string, any>>;
  rejected: Array<Record<string, any>>;
}

/** `dir` holds the recipe (and is its allowed root); source paths are relative to it. */
export async function runPrepare(
  py: PythonProcess,
  dir: string,
  name: string,
  sources: Array<{ path: string; format?: string }>,
  extra: Record<string, unknown> = {},
): Promise<Prepared> {
  const recipeFile = join(dir, `${name}.yaml`);
  writeFileSync(
    recipeFile,
    stringify({
      name: 'prepare-check',
      model: { base: TINY_MODEL, build_tiny: true, device: 'cpu', dtype: 'float32' },
      data: { sources },
      verifier: { kind: 'rule' },
      rounds: [{ name: 'automated' }],
      runs_dir: join(dir, 'runs'),
      allowed_roots: [join(REPO, '.cache', 'test-models')],
      ...extra,
    }),
  );
  const { recipe } = loadRecipe(recipeFile);
  const store = RunStore.create({ runsDir: recipe.runs_dir, recipe, recipeFile, queuePrefix: 'unused' });
  const payload = buildPayload(
    store,
    recipe,
    { runId: store.id, runDir: store.dir, round: 0, stage: 'prepare', shard: 0 },
    1,
    1,
  );
  const result = await py.request<{ outputs: Record<string, { path: string }> }>('stage', payload);
  const read = (p: string) =>
    readFileSync(p, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  return { store, seeds: read(result.outputs.seeds.path), rejected: read(result.outputs.rejected.path) };
}
