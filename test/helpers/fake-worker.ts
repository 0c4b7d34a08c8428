/**
 * Agent options that run test/fixtures/fake-worker instead of the Python worker: the agent's
 * own code path (queues, payloads, results, failures) in seconds, with no model.
 */
import { join } from 'node:path';
import type { AgentOptions } from '../../orchestrator/agent/agent.js';
import { REPO } from './harness.js';

export const FAKE_PYTHON = join(REPO, 'test', 'fixtures', 'fake-worker', 'python');

/**
 * `stageMs`: how long each stage request takes; `startMsFile`: a file whose number, once written,
 * delays `ready` of the processes started after; `result`: what it answers; `seeds`: write every
 * output for real (prepare writes that many seed rows), so a whole run completes.
 */
export function fakeWorker(
  opts: { stageMs?: number; startMsFile?: string; result?: unknown; seeds?: number } = {},
): Pick<AgentOptions, 'python' | 'pythonEnv'> {
  const env: Record<string, string> = { FAKE_WORKER_NODE: process.execPath, FAKE_STAGE_MS: String(opts.stageMs ?? 0) };
  if (opts.startMsFile !== undefined) env.FAKE_START_MS_FILE = opts.startMsFile;
  if (opts.result !== undefined) env.FAKE_STAGE_RESULT = JSON.stringify(opts.result);
  if (opts.seeds !== undefined) env.FAKE_SEEDS = String(opts.seeds);
  return { python: FAKE_PYTHON, pythonEnv: env };
}
