/**
 * What an agent has checked about each run it serves, kept between jobs (issue 24): run.json,
 * the parsed recipe with its paths re-checked, and each round's membership (opened or not, its
 * shard count, its stages). Every entry is revalidated by a stat of the file it came from
 * (store/file-stamp.ts), so a run.json or recipe.json changed between two jobs is read — and
 * judged — again on the second, while an unchanged run costs a few stat calls per job instead
 * of parsing, schema validation and re-planning the round.
 */
import { join } from 'node:path';
import { inRound, roundCount, roundStages } from '../plan/planner.js';
import { jobId, type Stage } from '../plan/stages.js';
import { isWithin, realPath } from '../real-path.js';
import { findPathFields } from '../recipe/path-fields.js';
import { RecipeSchema, type Recipe } from '../recipe/schema.js';
import { fileStamp, StampedValue } from '../store/file-stamp.js';
import { seedShards } from '../store/manifest.js';
import { RunDamaged } from '../store/damage.js';
import { RunStore, type RunInfo } from '../store/run-store.js';

/** Round membership as known from the advance record that opened it. */
interface RoundEntry {
  /** Stamp of the record `advance(round - 1)`; undefined while the round is not open. */
  stamp: string | undefined;
  shards: number;
  stages: { perRound: Stage[]; perShard: Stage[] };
}

/**
 * Every path field of a validated recipe must lie inside the roots it lists (the loader's rule,
 * normalise.ts): a recipe.json edited by hand after validation breaks it. Returns the first
 * offending field, in words.
 */
export function recipePathOutsideRoots(recipe: Recipe): string | undefined {
  const roots = recipe.allowed_roots.map((r) => realPath(r));
  for (const f of findPathFields(RecipeSchema, recipe)) {
    if (f.rule.need === 'roots') continue;
    const p = f.value as string;
    if (!p.startsWith('/') || !roots.some((r) => isWithin(realPath(p), r)))
      return `${f.path.join('.')} = ${JSON.stringify(p)} lies outside the recipe's allowed roots (${recipe.allowed_roots.join(', ')})`;
  }
  return undefined;
}

class TrustedRun {
  readonly store: RunStore;
  private readonly runJson: StampedValue<RunInfo>;
  private readonly recipeJson: StampedValue<{ recipe: Recipe; outside?: string }>;
  private readonly rounds = new Map<number, RoundEntry & { recipe: Recipe }>();

  constructor(dir: string) {
    this.store = new RunStore(dir);
    this.runJson = new StampedValue(join(dir, 'run.json'), () => this.store.info());
    this.recipeJson = new StampedValue(join(dir, 'recipe.json'), () => {
      const recipe = this.store.recipe();
      return { recipe, outside: recipePathOutsideRoots(recipe) };
    });
  }

  info(): RunInfo {
    return this.runJson.get();
  }

  /** The recipe; `RunDamaged` when it fails the schema or names a path outside its roots. */
  recipe(): Recipe {
    const r = this.recipeJson.get();
    if (r.outside)
      throw new RunDamaged(
        this.store.abs('recipe.json'),
        r.outside,
        'recipe.json is written by `ipa submit` from a validated recipe; restore it from recipe.yaml',
      );
    return r.recipe;
  }

  /** Whether the run's plan holds the job: round 0, or a round its predecessor's advance opened. O(1) while nothing changed. */
  holds(recipe: Recipe, round: number, stage: Stage, shard: number): boolean {
    if (round > roundCount(recipe)) return false;
    if (round === 0) return inRound(roundStages(recipe, 0), 1, stage, shard);
    const entry = this.round(recipe, round);
    return entry.stamp !== undefined && inRound(entry.stages, entry.shards, stage, shard);
  }

  /** The seed shards of an opened round (0 for round 0 and for a round not opened). */
  shards(recipe: Recipe, round: number): number {
    return round === 0 ? 0 : this.round(recipe, round).shards;
  }

  private round(recipe: Recipe, round: number): RoundEntry {
    const opener = jobId({ runId: this.store.id, round: round - 1, stage: 'advance', shard: 0 });
    const stamp = fileStamp(join(this.store.dir, 'jobs', `${opener}.json`));
    const cached = this.rounds.get(round);
    if (cached && cached.stamp === stamp && cached.recipe === recipe && stamp !== undefined) return cached;
    const rec = stamp === undefined ? undefined : this.store.doneRecord(opener);
    const entry = {
      stamp: rec ? stamp : undefined,
      shards: rec ? seedShards(rec) : 0,
      stages: roundStages(recipe, round),
      recipe,
    };
    this.rounds.set(round, entry);
    return entry;
  }
}

/** The runs one agent serves, by run id; an entry is dropped when its directory changes. */
export class TrustedRuns {
  private readonly runs = new Map<string, TrustedRun>();

  run(runId: string, dir: string): TrustedRun {
    let r = this.runs.get(runId);
    if (!r || r.store.dir !== dir) {
      r = new TrustedRun(dir);
      this.runs.set(runId, r);
    }
    return r;
  }
}
