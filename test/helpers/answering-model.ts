/**
 * The fixture policy of integration tests: the tiny model after a short answer SFT
 * (workers/ipa_worker/tools/answering_model.py). A random model's samples almost never pass the
 * verifier, so a round would build no pairs and train nothing; this one answers about half right.
 * Built once per checkout (about half a minute on 2 cores) and cached under .cache/test-models.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { defaultPython } from '../../orchestrator/bridge/python-process.js';

const REPO = join(import.meta.dirname, '..', '..');
export const RANDOM_TINY_MODEL = join(REPO, '.cache', 'test-models', 'tiny-qwen2vl');
export const ANSWERING_MODEL = join(REPO, '.cache', 'test-models', 'tiny-qwen2vl-answering');

/** Builds the model unless an identical build is cached; returns its folder. */
export function ensureAnsweringModel(): string {
  execFileSync(
    defaultPython(),
    ['-m', 'ipa_worker.tools.answering_model', ANSWERING_MODEL, '--base', RANDOM_TINY_MODEL],
    {
      cwd: REPO,
      env: { ...process.env, PYTHONPATH: join(REPO, 'workers') },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 1_200_000,
    },
  );
  return ANSWERING_MODEL;
}
