/**
 * Problems of a run said in words, from its manifest: seed rows the prepare stage rejected, a
 * round that produced no pairs (and why), items a stage could not process. `ipa run` prints each
 * as a warning once it appears; `ipa status` lists them under the table.
 */
import { jobPlace } from '../plan/stages.js';
import { REJECTED_SEEDS_FILE } from '../plan/paths.js';
import type { Manifest, StageSummary } from '../store/manifest.js';

export interface Problem {
  /** Stable across polls, so a watcher says each problem once. */
  key: string;
  text: string;
}

const metric = (s: StageSummary | undefined, k: string): number =>
  s && typeof s.metrics[k] === 'number' ? s.metrics[k] : 0;

/** Why a finished round has no pairs, from its verify and pair counts. */
export function noPairsReason(stages: readonly StageSummary[]): string {
  const by = (name: string) => stages.find((s) => s.stage === name);
  const verify = by('verify');
  const refined = by('verify_revisions');
  const judged = metric(verify, 'n') + metric(refined, 'n');
  const passed = metric(verify, 'passed') + metric(refined, 'passed');
  if (judged === 0) return 'no response was sampled';
  if (passed === 0) return 'no response passed the verifier';
  if (passed === judged) return 'every response passed the verifier, so none could be the rejected one';
  return 'no seed had both a passing and a failing response';
}

/**
 * Every problem the manifest shows. `runDir` and `runRef` make the hints exact: the path of the
 * rejected rows, the `ipa logs` command that shows failed items.
 */
export function runProblems(m: Manifest, runDir: string, runRef = m.run.id): Problem[] {
  const out: Problem[] = [];
  for (const r of m.rounds) {
    for (const s of r.stages) {
      const rejected = s.stage === 'prepare' ? metric(s, 'rejected') : 0;
      if (rejected > 0) {
        out.push({
          key: 'rejected-seeds',
          text: `${rejected} seed row${rejected === 1 ? '' : 's'} rejected — see ${runDir}/${REJECTED_SEEDS_FILE}`,
        });
      }
      if (s.failed_items > 0) {
        const where = jobPlace({ round: r.round, stage: s.stage, shard: 0 }).replace(/ · shard \d+$/, '');
        out.push({
          key: `failed-items-${r.round}-${s.stage}-${s.failed_items}`,
          text: `${where}: ${s.failed_items} item${s.failed_items === 1 ? '' : 's'} failed and were left out — ipa logs ${runRef} --round ${r.round} --stage ${s.stage}`,
        });
      }
    }
    const pair = r.stages.find((s) => s.stage === 'pair');
    if (pair && pair.jobs > 0 && pair.done === pair.jobs && (pair.outputs.pairs ?? 0) === 0) {
      out.push({ key: `no-pairs-${r.round}`, text: `round ${r.round} produced no pairs: ${noPairsReason(r.stages)}` });
    }
  }
  return out;
}
