import { describe, expect, it } from 'vitest';
import type { ActiveJob } from '../../orchestrator/queue/active-jobs.js';
import { fractionDone, stageProgress } from '../../orchestrator/run/eta.js';
import { manifest, stage } from '../helpers/manifest.js';

const NOW = 1_000_000;
const job = (
  stage: ActiveJob['stage'],
  startedAgoMs: number,
  progress?: ActiveJob['progress'],
  shard = 0,
): ActiveJob => ({
  id: `r.r1.${stage}.s00${shard}`,
  round: 1,
  stage,
  shard,
  startedAt: NOW - startedAgoMs,
  progress,
});

describe('estimates per stage', () => {
  it('a running job needs its elapsed time scaled by what is left; jobs still waiting take the mean of finished ones', () => {
    // 2 of 6 sample jobs done in 20 s each; shard 2 is half-way after 8 s; 3 still wait.
    const m = manifest([
      { round: 0, stages: [] },
      { round: 1, stages: [stage('sample', { jobs: 6, done: 2, duration_ms: 40_000 })] },
    ]);
    const [p] = stageProgress(m, [job('sample', 8_000, { done: 32, total: 64, metrics: {} }, 2)], NOW);
    expect(p).toMatchObject({ round: 1, stage: 'sample', jobs: 6, done: 2 });
    expect(p.etaMs).toBe(8_000 + 3 * 20_000);
  });

  it('before a stage has finished a job here, it learns from the same stage in earlier rounds', () => {
    const m = manifest([
      { round: 0, stages: [] },
      { round: 1, stages: [stage('train', { done: 1, duration_ms: 90_000 })] },
      { round: 2, stages: [stage('train', { done: 0 })] },
    ]);
    expect(stageProgress(m, [], NOW)).toEqual([
      { round: 2, stage: 'train', jobs: 1, done: 0, active: [], etaMs: 90_000 },
    ]);
  });

  it('says nothing rather than guess: no finished job anywhere and no fraction reported yet', () => {
    const m = manifest([{ round: 0, stages: [stage('sft')] }]);
    expect(
      stageProgress(m, [job('sft', 5_000, { done: 0, total: 0, metrics: { phase: 'loading model' } })], NOW)[0].etaMs,
    ).toBeUndefined();
    expect(fractionDone(job('sft', 1, { done: 3, total: 4, metrics: {} }))).toBe(0.75);
  });

  it('finished stages are left out', () => {
    const m = manifest([{ round: 0, stages: [stage('prepare', { done: 1, duration_ms: 5 }), stage('eval')] }]);
    expect(stageProgress(m, [], NOW).map((p) => p.stage)).toEqual(['eval']);
  });
});
