/**
 * A fabricated run directory for the dashboard tests: a real RunStore whose jobs are "finished"
 * by writing output files and done records in plan order, with plausible metrics, training
 * curves, eval files (built-in and lmms-eval numbers) and one failed-then-retried job with a traceback.
 * No Redis, no Python.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evalFile, roundDir, shardFile, stageOutputs } from '../../orchestrator/plan/paths.js';
import { roundCount } from '../../orchestrator/plan/planner.js';
import { jobId, STAGES, type Stage } from '../../orchestrator/plan/stages.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import { atomicWrite, atomicWriteJsonl } from '../../orchestrator/store/atomic.js';
import { folderDigest } from '../../orchestrator/store/digest.js';
import { buildManifest } from '../../orchestrator/store/manifest.js';
import { RunStore, type OutputRecord } from '../../orchestrator/store/run-store.js';

export const SEEDS = 10;
const SHARD_SIZE = 4;

export interface FakeRun {
  root: string;
  runsDir: string;
  store: RunStore;
  /** Finishes the next unfinished job (leaves first); false when the run is complete. */
  step(): boolean;
  /** Steps until `pred` holds or the run is complete. */
  stepUntil(pred: (store: RunStore) => boolean): void;
}

const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));

/** Rows and metrics each stage reports for (round, shard); deterministic so tests can predict them. */
function fake(
  stage: Stage,
  round: number,
  shard: number,
  seedsInShard: number,
): { rows: Record<string, number>; metrics: Record<string, unknown> } {
  const n = seedsInShard;
  switch (stage) {
    case 'prepare':
      return { rows: { seeds: SEEDS, rejected: 1 }, metrics: { seeds: SEEDS, rejected: 1 } };
    case 'sample':
      return { rows: { responses: n * 4 }, metrics: { normal: n * 2, contrastive: n * 2 } };
    case 'verify':
      return { rows: { verdicts: n * 4 }, metrics: { n: n * 4, passed: n * 2 + shard + round } };
    case 'revise':
      return { rows: { revisions: n * 2 }, metrics: {} };
    case 'verify_revisions':
      return { rows: { revision_verdicts: n * 2 }, metrics: { n: n * 2, passed: n } };
    case 'pair':
      return {
        rows: { pairs: n * 2 + shard, feedback_pairs: n, challenging: Math.max(0, n - 1 - round) },
        metrics: {},
      };
    case 'train':
      return {
        rows: {},
        metrics: {
          reward_accuracy_train_pairs: 0.6 + 0.1 * round,
          reward_accuracy_heldout_pairs: 0.5 + 0.1 * round,
          steps: 6,
        },
      };
    default:
      return { rows: {}, metrics: {} };
  }
}

/** @param opts.runsDir - a runs folder to share with other fake runs @defaultValue a fresh one */
export function fakeRun(opts: { rounds?: number; id?: string; runsDir?: string } = {}): FakeRun {
  const root = mkdtempSync(join(tmpdir(), 'ipa-dash-'));
  const runsDir = opts.runsDir ?? join(root, 'runs');
  const recipeFile = join(root, 'recipe.yaml');
  const rounds = Array.from({ length: opts.rounds ?? 2 }, (_, i) => ({ name: `round ${i + 1}` }));
  writeFileSync(recipeFile, 'name: dash\n');
  const recipe = RecipeSchema.parse({
    name: 'dash',
    model: { base: '/m' },
    rounds,
    data: { shard_size: SHARD_SIZE },
    eval: { compare_with_paper: true, lmms_eval: { enabled: true, tasks: ['pope'] } },
  });
  const store = RunStore.create({ runsDir, recipe, recipeFile, queuePrefix: 'test', id: opts.id ?? 'dash-run-0001' });

  const seedsIn = (round: number, shard: number) => {
    if (round === 0) return SEEDS;
    return Math.min(SHARD_SIZE, seedsForRound(round) - shard * SHARD_SIZE);
  };
  // Seeds of round r ≥ 2: the challenging rows of round r-1 (what `advance` would pass on).
  const seedsForRound = (round: number): number => {
    if (round === 1) return SEEDS;
    return store
      .doneRecords()
      .filter((r) => r.stage === 'pair' && r.round === round - 1)
      .reduce((a, r) => a + (r.outputs.challenging?.rows ?? 0), 0);
  };

  const finish = (stage: Stage, round: number, shard: number) => {
    const id = jobId({ runId: store.id, round, stage, shard });
    const started = new Date();
    const { rows, metrics } = fake(stage, round, shard, seedsIn(round, shard));
    const outputs: Record<string, OutputRecord> = {};
    for (const [name, rel] of Object.entries(stageOutputs(stage, round, shard))) {
      const abs = store.abs(rel);
      if (name in rows) outputs[name] = atomicWriteJsonl(abs, rowsOf(rows[name]));
      else if (stage === 'train' && name === 'metrics') {
        const lines = [];
        for (const model of ['policy', 'reviser']) {
          for (let step = 1; step <= 6; step++) {
            const margin = 0.1 * step * (model === 'policy' ? 1 : 0.6) * round;
            lines.push(
              JSON.stringify({
                model,
                step,
                loss: 0.69 - margin / 4,
                'rewards/chosen': margin / 2,
                'rewards/rejected': -margin / 2,
                'rewards/margins': margin,
                'rewards/accuracies': Math.min(1, 0.5 + step * 0.08),
              }),
            );
          }
        }
        outputs[name] = { path: abs, rows: lines.length, sha256: atomicWrite(abs, lines.join('\n') + '\n') };
      } else if (stage === 'eval' && name === 'eval') {
        const overall = 0.4 + 0.05 * round;
        // Both backends: the built-in held-out accuracy and one lmms-eval task with its own metrics.
        const pope = { pope_accuracy: 0.8 + 0.01 * round, pope_f1_score: 0.79 + 0.01 * round };
        const benchmarks = {
          synthetic: {
            backend: 'builtin',
            kind: 'task',
            metric: 'accuracy',
            value: overall,
            higher_is_better: true,
            n: 8,
          },
          pope: {
            backend: 'lmms_eval',
            kind: 'task',
            metric: 'pope_accuracy',
            value: pope.pope_accuracy,
            higher_is_better: true,
            n: 9000,
            metrics: pope,
          },
        };
        const sha256 = atomicWrite(
          abs,
          JSON.stringify({
            round,
            model: `round-${round}`,
            overall,
            by_task: { color: overall + 0.1, count: overall - 0.1 },
            by_benchmark: { synthetic: overall, pope: pope.pope_accuracy },
            benchmarks,
            n: 8,
          }),
        );
        metrics.overall = overall;
        outputs[name] = { path: abs, rows: 1, sha256 };
      } else if (stage === 'report') {
        outputs[name] = { path: abs, rows: 0, sha256: atomicWrite(abs, name === 'report' ? '# report\n' : 'png') };
      } else {
        // Folder outputs (models, checkpoints, lmms-eval results) hold their folder digest, as real records do.
        mkdirSync(abs, { recursive: true });
        outputs[name] = { path: abs, rows: 0, sha256: folderDigest(abs, { cache: false }) };
      }
    }
    if (stage === 'advance') {
      if (round < roundCount(recipe)) {
        const next = round + 1;
        const n = seedsForRound(next);
        for (let k = 0; k * SHARD_SIZE < n; k++) {
          outputs[`seeds_${k}`] = atomicWriteJsonl(
            store.abs(shardFile(next, 'seeds', k)),
            rowsOf(Math.min(SHARD_SIZE, n - k * SHARD_SIZE)),
          );
        }
        metrics.next_round = next;
        metrics.seeds = n;
      } else {
        store.setState('completed');
      }
    }
    // One retried job with a traceback in its log, as the agent writes it.
    if (stage === 'verify' && round === 1 && shard === 0) {
      store.recordAttempt(id, { attempt: 1, worker: 'w1', started_at: started.toISOString() });
      store.appendLog(id, 'INFO loading verifier');
      store.appendLog(
        id,
        'Internal: CUDA error: device-side assert triggered\nTraceback (most recent call last):\n  File "/app/ipa_worker/method/verifier.py", line 42, in run\n    out = model.generate(**batch)\nRuntimeError: CUDA error: device-side assert triggered',
      );
    }
    store.recordAttempt(id, { attempt: store.attempts(id) + 1, worker: 'w1', started_at: started.toISOString() });
    store.writeDone({
      job_id: id,
      stage,
      round,
      shard,
      outputs,
      metrics,
      failed_items: [],
      attempts: store.attempts(id),
      started_at: started.toISOString(),
      finished_at: new Date().toISOString(),
      duration_ms: 10 + shard,
      worker: 'w1',
    });
    if (store.info().state === 'queued') store.setState('running');
  };

  const step = (): boolean => {
    const m = buildManifest(store);
    // Children run before parents: within a round the planner's stage order is the run order.
    const pending = Object.entries(m.jobs)
      .filter(([, j]) => !j.done)
      .sort(([, a], [, b]) => a.round - b.round || order(a.stage) - order(b.stage) || a.shard - b.shard);
    if (!pending.length) return false;
    const [, j] = pending[0];
    finish(j.stage, j.round, j.shard);
    return true;
  };
  return {
    root,
    runsDir,
    store,
    step,
    stepUntil(pred) {
      while (!pred(store) && step());
    },
  };
}

/** Execution order within a round (round 0 only has prepare, eval, advance): the order of STAGES. */
const order = (s: Stage) => STAGES.indexOf(s);

export const evalPath = (store: RunStore, round: number) => store.abs(evalFile(round));
export const metricsPath = (store: RunStore, round: number) => store.abs(join(roundDir(round), 'train_metrics.jsonl'));
