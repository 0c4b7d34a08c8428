/**
 * The worker's Python interpreter and environment for one-shot commands (`ipa export`): the
 * same interpreter the bridge starts, with `workers/` on PYTHONPATH.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPython } from '../bridge/python-process.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function pythonCommand(): { python: string; env: NodeJS.ProcessEnv } {
  const workers = join(REPO_ROOT, 'workers');
  const env = { ...process.env, PYTHONPATH: process.env.PYTHONPATH ? `${workers}:${process.env.PYTHONPATH}` : workers };
  return { python: defaultPython(), env };
}
