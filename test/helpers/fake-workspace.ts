/**
 * A folder for `ipa` commands run as processes on the fake worker (no model): a recipe whose base
 * model is an empty folder, a runs folder and a runs registry of its own, and the environment
 * that points `ipa` at them. `remove()` deletes it all.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FAKE_PYTHON } from './fake-worker.js';
import { tinyRecipe } from './harness.js';

export interface FakeWorkspace {
  file: string;
  runsDir: string;
  /** IPA_PYTHON (the fake worker), IPA_STATE_DIR, IPA_RUNS_DIR; REDIS_URL removed. */
  env: Record<string, string>;
  remove(): void;
}

export function fakeWorkspace(overrides: Record<string, unknown> = {}): FakeWorkspace {
  const work = mkdtempSync(join(tmpdir(), 'ipa-fake-'));
  mkdirSync(join(work, 'model'));
  const recipe = tinyRecipe({
    model: { base: join(work, 'model') },
    data: { synthetic: { output_dir: join(work, 'synthetic') } },
    eval: { after: 'none' },
    ...overrides,
  });
  const file = join(work, 'recipe.yaml');
  writeFileSync(file, stringify({ ...recipe, runs_dir: join(work, 'runs'), allowed_roots: [work] }));
  const env = {
    IPA_PYTHON: FAKE_PYTHON,
    FAKE_WORKER_NODE: process.execPath,
    FAKE_SEEDS: '12',
    IPA_STATE_DIR: join(work, 'state'),
    IPA_RUNS_DIR: join(work, 'runs'),
    REDIS_URL: '',
  };
  return { file, runsDir: join(work, 'runs'), env, remove: () => rmSync(work, { recursive: true, force: true }) };
}
