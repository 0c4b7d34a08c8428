/**
 * What `ipa resume` does with damage before it queues anything: outputs that no longer match
 * their done records are not trusted. Each damaged job loses its record, and so does every job
 * computed from it — a job that read one of its outputs (inputs, models, the next round's seeds),
 * and the job that waited for it in the round's flow — so the planner queues them all again.
 * Nothing is deleted: the records, and the stray shard files, move to
 * `quarantine/<time>/` under the same relative paths. A symbolic link leading out of the run
 * stops the repair before anything moves: what lies behind it is not the run's to move.
 */
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { flattenPlan, planPreparation, planRound, roundCount, type PlanNode } from '../plan/planner.js';
import { roundDir, stageOutputs } from '../plan/paths.js';
import { jobId, parseJobId } from '../plan/stages.js';
import type { Recipe } from '../recipe/schema.js';
import { realPath } from '../real-path.js';
import { ExitCode, IpaError } from '../errors.js';
import { ensureDir } from '../store/atomic.js';
import { RunDamaged } from '../store/damage.js';
import { scanRun, type Damage } from '../store/integrity.js';
import { jobInputPaths } from '../store/job-inputs.js';
import { shardCount } from '../store/manifest.js';
import type { RunStore } from '../store/run-store.js';
import { runFolder } from '../store/run-links.js';

export interface RepairResult {
  damage: Damage[];
  /** Jobs whose outputs were damaged. */
  damaged: string[];
  /** Jobs computed from them, set to be computed again too. */
  dependents: string[];
  /** Where records and stray files went (relative to the run directory), when anything moved. */
  quarantine?: string;
}

/** Every planned job of the run, with its parent in the round's flow (the job that waits for it; none for a root). */
function planned(store: RunStore, recipe: Recipe): Map<string, string | undefined> {
  const parents = new Map<string, string | undefined>();
  const walk = (n: PlanNode | undefined, parent?: string) => {
    if (!n) return;
    const id = jobId({ runId: store.id, ...n });
    parents.set(id, parent);
    for (const c of n.children) walk(c, id);
  };
  walk(planPreparation(recipe, store.id));
  for (let r = 1; r <= roundCount(recipe); r++) walk(planRound(recipe, store.id, r, shardCount(store, r)));
  return parents;
}

/**
 * The damaged jobs and everything computed from them, given the readable records: a job is
 * tainted when it read an output of a tainted job or waited for one in its flow.
 */
export function taintedJobs(store: RunStore, recipe: Recipe, damaged: ReadonlySet<string>): Set<string> {
  const records = store.doneRecords();
  const producedBy = new Map<string, string>();
  for (const r of records) for (const o of Object.values(r.outputs)) producedBy.set(realPath(o.path), r.job_id);
  // A damaged job whose record cannot be read still wrote its outputs where the plan puts them.
  for (const id of damaged) for (const p of plannedOutputs(store, id)) producedBy.set(realPath(p), id);
  const reads = new Map(
    records.map((r) => [
      r.job_id,
      jobInputPaths(store, recipe, r.stage as PlanNode['stage'], r.round, r.shard).map(realPath),
    ]),
  );
  const parents = planned(store, recipe);
  const tainted = new Set(damaged);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of records) {
      if (tainted.has(r.job_id)) continue;
      const fromInput = reads.get(r.job_id)!.some((p) => tainted.has(producedBy.get(p) ?? ''));
      const fromChild = [...tainted].some((t) => parents.get(t) === r.job_id);
      if (fromInput || fromChild) {
        tainted.add(r.job_id);
        grew = true;
      }
    }
  }
  return tainted;
}

/** Where job `id` writes, from the plan alone (`advance` writes the next round's seed shards). */
function plannedOutputs(store: RunStore, id: string): string[] {
  const j = parseJobId(id);
  if (!j || j.runId !== store.id) return [];
  if (j.stage !== 'advance') return Object.values(stageOutputs(j.stage, j.round, j.shard)).map((p) => store.abs(p));
  const seeds = store.abs(join(roundDir(j.round + 1), 'seeds'));
  return existsSync(seeds) ? readdirSync(seeds).map((f) => join(seeds, f)) : [];
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
}

/**
 * Finds the run's damage (every output hashed, folders included) and sets aside what must be
 * computed again. A damaged run.json or recipe.json cannot be repaired here: `RunDamaged`.
 */
export function repairRun(store: RunStore): RepairResult {
  const damage = scanRun(store);
  const runFile = damage.find((d) => d.kind === 'run-file');
  if (runFile)
    throw new RunDamaged(
      runFile.file,
      runFile.reason,
      'restore it from a backup before resuming; recipe.yaml holds the recipe as written',
    );
  const links = damage.filter((d) => d.kind === 'outside-link');
  if (links.length) {
    throw new IpaError(
      [
        `run ${store.id} holds ${links.length} symbolic link${links.length === 1 ? '' : 's'} leading out of the run directory, so it is not repaired; nothing was moved or changed:`,
        ...links.map((d) => `  ${d.file} ${d.reason}`),
        `then run \`ipa resume ${store.id}\` again`,
      ].join('\n'),
      ExitCode.invalidInput,
    );
  }
  const recipe = store.recipe();
  const damaged = new Set(damage.filter((d) => d.kind !== 'stray-file' && d.job).map((d) => d.job!));
  const tainted = damaged.size ? taintedJobs(store, recipe, damaged) : new Set<string>();
  const strays = damage.filter((d) => d.kind === 'stray-file').map((d) => d.file);
  const moves = [
    ...[...tainted].map((id) => store.abs(join('jobs', `${id}.json`))).filter((p) => existsSync(p)),
    ...strays,
  ];
  let quarantine: string | undefined;
  if (moves.length) {
    quarantine = join('quarantine', stamp());
    runFolder(store.dir, 'quarantine');
    for (const from of moves) {
      const to = store.abs(join(quarantine, relative(store.dir, from)));
      ensureDir(dirname(to));
      renameSync(from, to);
    }
  }
  return {
    damage,
    damaged: [...damaged].sort(),
    dependents: [...tainted].filter((id) => !damaged.has(id)).sort(),
    ...(quarantine ? { quarantine } : {}),
  };
}
