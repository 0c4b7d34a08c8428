/**
 * The worker's Python interpreter and environment for one-shot commands (`ipa export`):
 * IPA_PYTHON, else the repository's .venv, else python3; `workers/` on PYTHONPATH.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function pythonCommand(): { python: string; env: NodeJS.ProcessEnv } {
  const venv = join(REPO_ROOT, '.venv', 'bin', 'python');
  const python = process.env.IPA_PYTHON ?? (existsSync(venv) ? venv : 'python3');
  const workers = join(REPO_ROOT, 'workers');
  const env = { ...process.env, PYTHONPATH: process.env.PYTHONPATH ? `${workers}:${process.env.PYTHONPATH}` : workers };
  return { python, env };
}
