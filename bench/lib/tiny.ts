/** Makes sure the tiny checkpoint exists before a Python benchmark times anything. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { PYTHON, REPO, TINY_MODEL, pythonEnv } from './python.js';

export async function ensureTinyModel(): Promise<string> {
  if (!existsSync(join(TINY_MODEL, 'config.json'))) {
    await execa(PYTHON, ['-m', 'ipa_worker.models.tiny_model', TINY_MODEL], { env: pythonEnv(), cwd: REPO });
  }
  return TINY_MODEL;
}
