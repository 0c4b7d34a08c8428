/**
 * What the worker's Python environment has installed, asked of that Python itself
 * (`python -m ipa_worker.tools.env_check`): `ipa validate` refuses a recipe that enables
 * lmms-eval where the workers could not run it, before a run is submitted and fails at round 0.
 */
import { execa } from 'execa';
import type { Recipe } from '../recipe/schema.js';
import type { RecipeWarning } from '../recipe/warnings.js';
import { pythonCommand } from './python.js';

/** The interpreter asked and, per module name, whether it is importable there. */
export interface WorkerEnv {
  python: string;
  modules: Record<string, boolean>;
}

/** Asks the worker's Python which of `modules` it can import; throws with its stderr when it cannot answer. */
export async function workerModules(modules: string[]): Promise<WorkerEnv> {
  const { python, env } = pythonCommand();
  const r = await execa(python, ['-m', 'ipa_worker.tools.env_check', ...modules], {
    env,
    reject: false,
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: 60_000,
  });
  if (r.exitCode !== 0) {
    const why = String(r.stderr || r.stdout || r.message || '')
      .trim()
      .split('\n')
      .slice(-2)
      .join(' | ');
    throw new Error(`could not ask the worker's Python (${python}) what it has installed: ${why}`);
  }
  return JSON.parse(String(r.stdout)) as WorkerEnv;
}

/**
 * The recipe's needs the worker environment does not meet, each with the recipe field that asks
 * for it (none, without starting Python, when the recipe needs nothing optional).
 */
export async function workerEnvProblems(recipe: Recipe, ask = workerModules): Promise<RecipeWarning[]> {
  if (!recipe.eval.lmms_eval.enabled) return [];
  const path = ['eval', 'lmms_eval', 'enabled'];
  const hint =
    'install the worker environment with `make setup` (workers/requirements.lock has lmms-eval), point IPA_PYTHON at a Python that has it, or set eval.lmms_eval.enabled: false';
  let found: WorkerEnv;
  try {
    found = await ask(['lmms_eval']);
  } catch (err) {
    return [{ path, message: `lmms-eval is enabled, but ${(err as Error).message}`, hint }];
  }
  if (found.modules.lmms_eval) return [];
  return [
    { path, message: `lmms-eval is enabled, but it is not installed in the worker's Python (${found.python})`, hint },
  ];
}
