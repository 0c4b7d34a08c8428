/**
 * `ipa logs` filters checked against the run they filter: a stage, round or shard the run does
 * not have is a usage error that lists what it has (a typo gets a "did you mean"), never a
 * silent empty answer. What the run will have counts: a stage its recipe plans for a round not
 * opened yet (`--stage train --follow` before round 1 is planned), and any shard of such a round
 * (its shard count is known once the round opens).
 */
import { roundStages } from '../plan/planner.js';
import type { Stage } from '../plan/stages.js';
import { closest } from '../recipe/errors.js';
import type { Recipe } from '../recipe/schema.js';
import type { LogFilter } from '../store/log-tail.js';
import type { Manifest } from '../store/manifest.js';

export interface LogFlags {
  round?: string;
  stage?: string;
  shard?: string;
}

function intOf(flag: string, v: string | undefined): number | undefined | string {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && v.trim() !== '' ? n : `--${flag} must be a whole number >= 0, got '${v}'`;
}

const span = (ns: number[]): string =>
  ns.length ? (ns.length === 1 ? `${ns[0]}` : `${Math.min(...ns)}–${Math.max(...ns)}`) : 'none yet';

/** The stages round `r` has, or (from `recipe`) will have, in the order they run. */
function stagesOf(r: Manifest['rounds'][number], recipe: Recipe | undefined): Stage[] {
  const planned = recipe ? Object.values(roundStages(recipe, r.round)).flat().reverse() : [];
  return [...new Set([...r.stages.map((s) => s.stage), ...planned])];
}

/** The filter the flags give for run `m` (with its `recipe`: what it will have counts too), or the usage message that says what is wrong. */
export function checkLogFilter(
  m: Manifest,
  flags: LogFlags,
  recipe?: Recipe,
): { filter: LogFilter } | { problem: string } {
  const round = intOf('round', flags.round);
  const shard = intOf('shard', flags.shard);
  if (typeof round === 'string') return { problem: round };
  if (typeof shard === 'string') return { problem: shard };
  const id = m.run.id;
  const rounds = m.rounds.map((r) => r.round);
  if (round !== undefined && !rounds.includes(round))
    return { problem: `run ${id} has no round ${round}; its rounds: ${span(rounds)} (0 is the preparation)` };
  const inRounds = m.rounds.filter((r) => round === undefined || r.round === round);
  const stages = [...new Set(inRounds.flatMap((r) => stagesOf(r, recipe)))];
  if (flags.stage !== undefined && !stages.includes(flags.stage as never)) {
    // Two edits: a swapped pair of letters ("trian") is a typo too.
    const guess = closest(flags.stage, stages, 2);
    const where = round === undefined ? `run ${id}` : `round ${round} of run ${id}`;
    return {
      problem: `${where} has no stage '${flags.stage}'${guess ? ` (did you mean '${guess}'?)` : ''}; its stages: ${stages.join(', ') || 'none planned yet'}`,
    };
  }
  // A round not opened yet has no shard count: any shard may come.
  const unopened = inRounds.some((r) => r.round > 0 && !r.stages.length);
  if (shard !== undefined && !unopened) {
    const shards = [
      ...new Set(
        inRounds.flatMap((r) => Array.from({ length: Math.max(r.round === 0 ? 1 : r.shards, 0) }, (_, k) => k)),
      ),
    ];
    if (!shards.includes(shard))
      return {
        problem: `${round === undefined ? `run ${id}` : `round ${round} of run ${id}`} has no shard ${shard}; its shards: ${span(shards)}`,
      };
  }
  return { filter: { round, stage: flags.stage, shard } };
}
