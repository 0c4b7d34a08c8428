import { describe, expect, it } from 'vitest';
import { noPairsReason, runProblems } from '../../orchestrator/report/problems.js';
import { describeOutputs, duration } from '../../orchestrator/report/stage-words.js';
import { manifest, stage } from '../helpers/manifest.js';

describe('what a stage produced, in words', () => {
  it("names each stage's outputs for what they count", () => {
    expect(describeOutputs('prepare', { seeds: 372, rejected: 12 }, {})).toBe('372 seeds, 12 rejected');
    expect(describeOutputs('sample', { responses: 512 }, { normal: 256, contrastive: 256 })).toBe(
      '512 responses (256 normal, 256 contrastive)',
    );
    expect(describeOutputs('verify', { verdicts: 512 }, { n: 512, passed: 113 })).toBe(
      '512 verdicts, 113 passed (22.1%)',
    );
    expect(describeOutputs('verify_revisions', { revision_verdicts: 1 }, { n: 1, passed: 0 })).toBe(
      '1 verdict on refinements, 0 passed (0.0%)',
    );
    expect(describeOutputs('pair', { pairs: 74, feedback_pairs: 1, challenging: 23 }, {})).toBe(
      '74 pairs, 1 feedback pair, 23 challenging seeds',
    );
    expect(describeOutputs('eval', { eval: 1 }, { overall: 0.438, n: 240 })).toBe(
      'held-out accuracy 43.8% on 240 items',
    );
    expect(describeOutputs('advance', {}, { next_round: 2, seeds: 138, shards: 3 })).toBe(
      'round 2 opens with 138 seeds in 3 shards',
    );
    expect(describeOutputs('advance', {}, {})).toBe('last round done: run complete');
  });

  it('says what training did, and when it had nothing to train on', () => {
    const trained = describeOutputs(
      'train',
      { policy: 12, reviser: 12 },
      {
        objective: 'dpo',
        steps: 40,
        train_rows: 441,
        final_loss: 0.12,
        reward_accuracy_train_pairs: 1,
        reward_accuracy_heldout_pairs: 0.75,
        reviser_steps: 6,
        reviser_train_rows: 21,
        reviser_reward_accuracy_train_pairs: 0.5,
      },
    );
    expect(trained).toBe(
      'policy DPO on 441 pairs, 40 steps, loss 0.120, reward accuracy 75.0% on held-out pairs; reviser DPO on 21 feedback pairs, 6 steps, reward accuracy 50.0% on its training pairs',
    );
    expect(
      describeOutputs(
        'train',
        { policy: 12 },
        { objective: 'rft', steps: 8, train_rows: 30, first_loss: 2, final_loss: 1, reviser_steps: 0 },
      ),
    ).toBe('policy SFT (rft) on 30 examples, 8 steps, loss 2.000 → 1.000; reviser unchanged (no feedback pairs)');
    expect(
      describeOutputs('train', { policy: 12 }, { steps: 0, train_rows: 0, skipped: 'no pairs', reviser_steps: 0 }),
    ).toBe('no pairs: the policy is its start model unchanged; reviser unchanged (no feedback pairs)');
    expect(
      describeOutputs(
        'sft',
        { model: 9 },
        { steps: 80, train_rows: 384, examples_items: 128, first_loss: 2.31, final_loss: 0.45 },
      ),
    ).toBe('warm-up model: 80 steps on 384 examples from 128 items, loss 2.310 → 0.450');
  });

  it('durations read as a person says them', () => {
    expect(duration(1234)).toBe('1.2 s');
    expect(duration(24_300)).toBe('24 s');
    expect(duration(59_700)).toBe('1m00s');
    expect(duration(125_000)).toBe('2m05s');
    expect(duration(3_725_000)).toBe('1h02m');
  });
});

describe('problems said out loud', () => {
  it('rejected seed rows name the file that lists them', () => {
    const m = manifest([
      {
        round: 0,
        stages: [
          stage('prepare', { done: 1, outputs: { seeds: 372, rejected: 12 }, metrics: { seeds: 372, rejected: 12 } }),
        ],
      },
    ]);
    expect(runProblems(m, '/runs/x')).toEqual([
      { key: 'rejected-seeds', text: '12 seed rows rejected — see /runs/x/data/rejected_seeds.jsonl' },
    ]);
  });

  it('a finished round without pairs says why; an unfinished one is not judged yet', () => {
    const verify = (n: number, passed: number) => stage('verify', { jobs: 2, done: 2, metrics: { n, passed } });
    const pair = (done: number) => stage('pair', { jobs: 2, done, outputs: { pairs: 0 } });
    const m = manifest([
      { round: 0, stages: [] },
      { round: 1, stages: [verify(48, 0), pair(2)] },
      { round: 2, stages: [verify(48, 3), pair(1)] },
    ]);
    expect(runProblems(m, '/r').map((p) => p.text)).toEqual([
      'round 1 produced no pairs: no response passed the verifier',
    ]);
    expect(noPairsReason([verify(10, 10)])).toBe(
      'every response passed the verifier, so none could be the rejected one',
    );
    expect(noPairsReason([verify(10, 4)])).toBe('no seed had both a passing and a failing response');
    expect(noPairsReason([])).toBe('no response was sampled');
  });

  it('items a stage left out point at the logs that explain them', () => {
    const m = manifest(
      [
        { round: 0, stages: [] },
        { round: 1, stages: [stage('sample', { jobs: 2, done: 2, failed_items: 3 })] },
      ],
      'running',
      'tiny-1',
    );
    expect(runProblems(m, '/r')[0].text).toBe(
      'round 1 · sample: 3 items failed and were left out — ipa logs tiny-1 --round 1 --stage sample',
    );
  });
});
