/**
 * No-op runs for control-plane measurements: a real run directory (run.json, recipe.json) whose
 * jobs all have done records with no outputs. The agent then takes its real per-job path — run
 * state check, done-record lookup, result, BullMQ completion — and skips only the Python call,
 * which the bridge benchmark measures on its own.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { flattenPlan, planRound, type PlanNode } from '../../orchestrator/plan/planner.js';
import { shardFile } from '../../orchestrator/plan/paths.js';
import { jobId, type JobDescriptor } from '../../orchestrator/plan/stages.js';
import { keys } from '../../orchestrator/queue/queues.js';
import { parseRecipe } from '../../orchestrator/recipe/load.js';
import type { Recipe } from '../../orchestrator/recipe/schema.js';
import { RunStore, type DoneRecord } from '../../orchestrator/store/run-store.js';

/** One round with revision: 5 jobs per shard, plus train, eval, report and advance. */
export const jobsForShards = (shards: number): number => 5 * shards + 4;

export class NoopRuns {
  readonly work = mkdtempSync(join(tmpdir(), 'ipa-bench-'));
  readonly recipeFile = join(this.work, 'bench.yaml');
  readonly recipe: Recipe;
  private n = 0;

  constructor(shardSize = 16) {
    const text = [
      'name: bench',
      `runs_dir: ${join(this.work, 'runs')}`,
      `allowed_roots: [${this.work}]`,
      `model: {base: ${join(this.work, 'model')}, device: cpu}`,
      `data: {shard_size: ${shardSize}, synthetic: {enabled: true, output_dir: ${join(this.work, 'data')}}}`,
      'verifier: {kind: rule}',
      'rounds: [{name: only}]',
    ].join('\n');
    writeFileSync(this.recipeFile, text);
    this.recipe = parseRecipe(text, this.recipeFile, { checkFiles: false }).recipe;
  }

  /** A new run, registered on `redis` under `prefix` as `ipa submit` does (the agent trusts only registered runs). */
  async create(redis: Redis, prefix: string): Promise<RunStore> {
    const store = RunStore.create({
      runsDir: this.recipe.runs_dir,
      recipe: this.recipe,
      recipeFile: this.recipeFile,
      queuePrefix: prefix,
      id: `bench-${++this.n}`,
    });
    await redis.hset(keys.runs(prefix), store.id, store.dir);
    return store;
  }

  /** Marks every given job of `store` done (plain writes: this is set-up, not the measured path). */
  markDone(
    store: RunStore,
    nodes: Array<Pick<JobDescriptor, 'round' | 'stage' | 'shard'>>,
    outputs: DoneRecord['outputs'] = {},
  ): void {
    const dir = join(store.dir, 'jobs');
    mkdirSync(dir, { recursive: true });
    const at = new Date().toISOString();
    for (const n of nodes) {
      const id = jobId({ runId: store.id, ...n });
      const rec: DoneRecord = {
        job_id: id,
        stage: n.stage,
        round: n.round,
        shard: n.shard,
        outputs,
        metrics: {},
        failed_items: [],
        attempts: 1,
        started_at: at,
        finished_at: at,
        duration_ms: 0,
        worker: 'bench',
      };
      writeFileSync(join(dir, `${id}.json`), JSON.stringify(rec));
    }
  }

  /** Marks round 1 opened with `shards` seed shards (the agent checks jobs against the plan of an opened round). */
  openRound(store: RunStore, shards: number): void {
    const outputs: DoneRecord['outputs'] = {};
    mkdirSync(store.abs('round-1/seeds'), { recursive: true });
    for (let k = 0; k < shards; k++) {
      const path = store.abs(shardFile(1, 'seeds', k));
      writeFileSync(path, ''); // a done record counts only while its outputs exist
      outputs[`seeds_${k}`] = { path, rows: 0 };
    }
    this.markDone(store, [{ round: 0, stage: 'advance', shard: 0 }], outputs);
  }

  /** A run whose round-1 plan with `shards` shards is entirely done. */
  async doneRound(redis: Redis, prefix: string, shards: number): Promise<{ store: RunStore; nodes: PlanNode[] }> {
    const store = await this.create(redis, prefix);
    const nodes = flattenPlan(planRound(this.recipe, store.id, 1, shards));
    this.openRound(store, shards);
    this.markDone(store, nodes);
    return { store, nodes };
  }

  cleanup(): void {
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** The agent's logger as deployed (JSON lines at info), written to /dev/null instead of a terminal. */
export const quietLogger = () =>
  pino({ level: 'info', base: { pid: process.pid } }, pino.destination({ dest: '/dev/null', sync: false }));
