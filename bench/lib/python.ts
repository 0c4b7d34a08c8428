/** Runs a bench Python script in its own process; its last stdout line is its JSON result. */
import { join, resolve } from 'node:path';
import { execa } from 'execa';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const PYTHON = process.env.IPA_PYTHON ?? join(REPO, '.venv', 'bin', 'python');
/** The optional vLLM environment's Python (scripts/setup-vllm.sh links it; absent by default). */
export const VLLM_PYTHON = process.env.IPA_VLLM_PYTHON ?? join(REPO, '.venv-vllm', 'bin', 'python');
/** The tiny checkpoint the tests use: built once, shared (the builder is idempotent). */
export const TINY_MODEL = join(REPO, '.cache', 'test-models', 'tiny-qwen2vl');

export function pythonEnv(extra: Record<string, string> = {}): Record<string, string> {
  const path = process.env.PYTHONPATH;
  return { PYTHONPATH: path ? `${join(REPO, 'workers')}:${path}` : join(REPO, 'workers'), ...extra };
}

export async function runPythonJson<T>(
  script: string,
  args: string[],
  timeoutMs = 600_000,
  python = PYTHON,
): Promise<T> {
  const r = await execa(python, [join(REPO, 'bench', 'py', script), ...args], {
    env: pythonEnv(),
    timeout: timeoutMs,
    reject: false,
    cwd: REPO,
  });
  if (r.exitCode !== 0)
    throw new Error(`${script} exited ${r.exitCode}:\n${String(r.stderr).split('\n').slice(-25).join('\n')}`);
  const lines = String(r.stdout).trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}
