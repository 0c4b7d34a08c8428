/**
 * The manifest: a summary of a run derived from its done records and attempt logs — state of
 * every stage and shard, counts, attempts, timings. Written for people and the dashboard; the
 * records stay the truth.
 */
import { join } from 'node:path';
import { evalFile } from '../plan/paths.js';
import { flattenPlan, planPreparation, planRound, roundCount } from '../plan/planner.js';
import { jobId, STAGES, type Stage } from '../plan/stages.js';
import { atomicWriteJson } from './atomic.js';
import { readRunJson } from './metrics-files.js';
import type { DoneRecord, RunInfo, RunStore } from './run-store.js';

export interface StageSummary {
  stage: Stage;
  jobs: number;
  done: number;
  attempts: number;
  /** Rows written, all outputs together (see `outputs` for what they are). */
  rows: number;
  /** Rows written by output name (`responses`, `pairs`, ...; a model folder counts its files). */
  outputs: Record<string, number>;
  failed_items: number;
  duration_ms: number;
  metrics: Record<string, number>;
  /** The engines its jobs generated on (`engine` of their done records: vllm, hf), when they generated. */
  engines?: string[];
}

export interface RoundSummary {
  round: number;
  shards: number;
  stages: StageSummary[];
  /** Built-in held-out accuracy of the round's evaluation; overall null when it had no local benchmark. */
  eval?: { overall: number | null; by_task: Record<string, number>; n: number };
}

export interface Manifest {
  run: RunInfo;
  rounds: RoundSummary[];
  jobs: Record<
    string,
    { stage: Stage; round: number; shard: number; done: boolean; attempts: number; rows: number; duration_ms?: number }
  >;
  totals: { jobs: number; done: number; attempts: number; recomputed: number };
}

/**
 * Number of seed shards of round r: the ones the done record of `advance(r-1)` names (0 until the
 * previous round advanced). Shard files without that record are not counted: a file dropped into
 * the folder is never planned.
 */
export function shardCount(store: RunStore, round: number): number {
  if (round < 1) return 0;
  const rec = store.doneRecord(jobId({ runId: store.id, round: round - 1, stage: 'advance', shard: 0 }));
  return rec ? seedShards(rec) : 0;
}

/** How many seed shards the advance record `rec` wrote for the round it opened. */
export function seedShards(rec: Pick<DoneRecord, 'outputs'>): number {
  return Object.keys(rec.outputs).filter((k) => /^seeds_\d+$/.test(k)).length;
}

/** Numeric metrics are summed, except rates and per-second figures, which are averaged. */
function mergeMetrics(into: Record<string, number>, counts: Record<string, number>, m: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    into[k] = (into[k] ?? 0) + v;
    counts[k] = (counts[k] ?? 0) + 1;
  }
}
const averaged = (k: string) => /rate|per_s|accuracy|loss|margin|mean|_acc|batch_size|batch_scale/.test(k);

export function buildManifest(store: RunStore): Manifest {
  const recipe = store.recipe();
  const done = store.doneIds();
  const attempts = store.allAttempts();
  const jobs: Manifest['jobs'] = {};
  const rounds: RoundSummary[] = [];
  for (let r = 0; r <= roundCount(recipe); r++) {
    const shards = r === 0 ? 1 : shardCount(store, r);
    const opened = r === 0 || done.has(jobId({ runId: store.id, round: r - 1, stage: 'advance', shard: 0 }));
    const plan =
      r === 0 ? planPreparation(recipe, store.id) : opened ? planRound(recipe, store.id, r, shards) : undefined;
    const nodes = flattenPlan(plan);
    const byStage = new Map<Stage, StageSummary & { counts: Record<string, number> }>();
    for (const n of nodes) {
      const id = jobId({ runId: store.id, ...n });
      const rec = done.has(id) ? store.doneRecord(id) : undefined;
      const rows = rec ? Object.values(rec.outputs).reduce((a, o) => a + (o.rows ?? 0), 0) : 0;
      // A done job took at least one try, also one with no attempt line (a Node advance before
      // they were recorded): attempts never read as fewer than the jobs done.
      const tries = Math.max(attempts.get(id) ?? 0, rec ? 1 : 0);
      jobs[id] = {
        stage: n.stage,
        round: n.round,
        shard: n.shard,
        done: !!rec,
        attempts: tries,
        rows,
        duration_ms: rec?.duration_ms,
      };
      let s = byStage.get(n.stage);
      if (!s) {
        s = {
          stage: n.stage,
          jobs: 0,
          done: 0,
          attempts: 0,
          rows: 0,
          outputs: {},
          failed_items: 0,
          duration_ms: 0,
          metrics: {},
          counts: {},
        };
        byStage.set(n.stage, s);
      }
      s.jobs++;
      s.attempts += tries;
      if (rec) {
        s.done++;
        s.rows += rows;
        for (const [name, o] of Object.entries(rec.outputs)) s.outputs[name] = (s.outputs[name] ?? 0) + (o.rows ?? 0);
        s.failed_items += rec.failed_items?.length ?? 0;
        s.duration_ms += rec.duration_ms;
        mergeMetrics(s.metrics, s.counts, rec.metrics);
        const engine = rec.metrics.engine;
        if (typeof engine === 'string' && !(s.engines ??= []).includes(engine)) s.engines.push(engine);
      }
    }
    const stages = STAGES.filter((st) => byStage.has(st)).map((st) => {
      const { counts, ...s } = byStage.get(st)!;
      for (const k of Object.keys(s.metrics)) if (averaged(k)) s.metrics[k] = s.metrics[k] / counts[k];
      return s;
    });
    const summary: RoundSummary = { round: r, shards: r === 0 ? 0 : shards, stages };
    const e = readRunJson(store, evalFile(r));
    if (e) {
      summary.eval = {
        overall: typeof e.overall === 'number' ? e.overall : null,
        by_task: (e.by_task as Record<string, number>) ?? {},
        n: typeof e.n === 'number' ? e.n : 0,
      };
    }
    rounds.push(summary);
  }
  const all = Object.values(jobs);
  return {
    run: store.info(),
    rounds,
    jobs,
    totals: {
      jobs: all.length,
      done: all.filter((j) => j.done).length,
      attempts: all.reduce((a, j) => a + j.attempts, 0),
      recomputed: all.filter((j) => j.attempts > 1).length,
    },
  };
}

export function writeManifest(store: RunStore): Manifest {
  const m = buildManifest(store);
  atomicWriteJson(store.abs('manifest.json'), m);
  return m;
}
