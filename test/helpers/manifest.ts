/** Manifests built by hand, for tests of what is derived from them (words, problems, estimates). */
import type { Stage } from '../../orchestrator/plan/stages.js';
import type { Manifest, RoundSummary, StageSummary } from '../../orchestrator/store/manifest.js';
import type { RunState } from '../../orchestrator/store/run-store.js';

export function stage(name: Stage, s: Partial<StageSummary> = {}): StageSummary {
  return {
    stage: name,
    jobs: 1,
    done: 0,
    attempts: 0,
    rows: 0,
    outputs: {},
    failed_items: 0,
    duration_ms: 0,
    metrics: {},
    ...s,
  };
}

export function manifest(
  rounds: Array<Pick<RoundSummary, 'round' | 'stages'> & Partial<RoundSummary>>,
  state: RunState = 'running',
  id = 'run-1',
): Manifest {
  const all = rounds.flatMap((r) => r.stages);
  return {
    run: {
      id,
      name: 'run',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:10:00.000Z',
      state,
      queue_prefix: 'p',
      rounds: rounds.length - 1,
      recipe_file: '/r.yaml',
    },
    rounds: rounds.map((r) => ({ shards: 1, ...r })),
    jobs: {},
    totals: {
      jobs: all.reduce((a, s) => a + s.jobs, 0),
      done: all.reduce((a, s) => a + s.done, 0),
      attempts: 0,
      recomputed: 0,
    },
  };
}
