/**
 * Integration harness: a run on real Redis (unique prefix) with real agents and real Python
 * processes on the tiny model. Cleans up its queues, agents and (optionally) its run directory.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { WorkerAgent, type AgentOptions } from '../../orchestrator/agent/agent.js';
import { QueueSet } from '../../orchestrator/queue/queues.js';
import { loadRecipe } from '../../orchestrator/recipe/load.js';
import { submitRun } from '../../orchestrator/run/submit.js';
import { waitForRun } from '../../orchestrator/run/wait.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { ANSWERING_MODEL } from './answering-model.js';
import { deletePrefix, redisUrl, testConnection, uniquePrefix } from './redis.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
/** Shared by all tests: built once, reused (the builder is idempotent and atomic). */
export const TINY_MODEL = join(REPO, '.cache', 'test-models', 'tiny-qwen2vl');
export const TINY_DATA = join(REPO, '.cache', 'test-data', 'synthetic');

/**
 * A small fast recipe: rule verifier, few samples, short generations, CPU. Its policy is the
 * answering fixture model (built by the global setup), so rounds build pairs and train.
 */
export function tinyRecipe(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    name: 'itest',
    seed: 3,
    model: { base: ANSWERING_MODEL, build_tiny: false, device: 'cpu', dtype: 'float32' },
    data: {
      synthetic: { enabled: true, output_dir: TINY_DATA, train_size: 12, heldout_size: 8, seed: 0 },
      shard_size: 6,
    },
    sampling: { num_normal: 2, num_contrastive: 2, max_new_tokens: 6, batch_size: 16 },
    verifier: { kind: 'rule' },
    reviser: { max_new_tokens: 8, max_revisions_per_seed: 1 },
    pairs: { max_pairs_per_seed: 2 },
    rounds: [{ name: 'automated' }],
    training: { dpo: { batch_size: 4, epochs: 1, learning_rate: 1e-4, max_length: 256, save_steps: 1 } },
    eval: { max_new_tokens: 6 },
    orchestration: { attempts: 3, backoff_ms: 200 },
  };
  return deepMerge(base, overrides);
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
        ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export interface Harness {
  prefix: string;
  queues: QueueSet;
  runsDir: string;
  recipeFile: string;
  agents: WorkerAgent[];
  startAgent(opts?: Partial<AgentOptions>): Promise<WorkerAgent>;
  submit(): Promise<RunStore>;
  wait(store: RunStore, timeoutMs?: number): ReturnType<typeof waitForRun>;
  close(): Promise<void>;
}

export async function harness(name: string, recipe: Record<string, unknown>): Promise<Harness> {
  const prefix = uniquePrefix(name);
  const work = mkdtempSync(join(tmpdir(), `ipa-${name}-`));
  const runsDir = join(work, 'runs');
  mkdirSync(join(REPO, '.cache'), { recursive: true });
  const recipeFile = join(REPO, '.cache', `itest-${prefix}.yaml`);
  mkdirSync(dirname(recipeFile), { recursive: true });
  writeFileSync(recipeFile, stringify({ ...recipe, runs_dir: runsDir, allowed_roots: [work] }));
  const conn = testConnection();
  const queues = new QueueSet(conn, prefix);
  const agents: WorkerAgent[] = [];
  return {
    prefix,
    queues,
    runsDir,
    recipeFile,
    agents,
    async startAgent(opts = {}) {
      const a = await WorkerAgent.start({
        redisUrl: redisUrl(),
        prefix,
        lockDurationMs: 5000,
        stalledIntervalMs: 1000,
        ...opts,
      });
      agents.push(a);
      return a;
    },
    async submit() {
      const { recipe: r } = loadRecipe(recipeFile);
      return submitRun({ recipe: r, recipeFile, queues });
    },
    wait(store, timeoutMs = 600_000) {
      return waitForRun(store, { pollMs: 300, timeoutMs });
    },
    async close() {
      await Promise.all(agents.map((a) => a.close(2000)));
      await queues.close();
      await deletePrefix(conn, prefix);
      await conn.quit();
    },
  };
}
