/**
 * Where each stage reads and writes, relative to the run directory (docs/ARCHITECTURE.md).
 * One function per concern so the agent, resume and the dashboard agree on every path.
 */
import { z } from 'zod';
import type { Stage } from './stages.js';
import { pad3 } from './stages.js';

/** Every path handed to a stage is absolute: the worker may run in another folder. */
export const AbsolutePathSchema = z.string().regex(/^\//, 'an absolute path');

export const roundDir = (round: number): string => `round-${round}`;
export const shardFile = (round: number, kind: string, shard: number): string => `${roundDir(round)}/${kind}/shard-${pad3(shard)}.jsonl`;
export const SEEDS_FILE = 'data/seeds.jsonl';
export const REJECTED_SEEDS_FILE = 'data/rejected_seeds.jsonl';
export const SFT_MODEL_DIR = 'models/sft';
export const evalFile = (round: number): string => `eval/round-${round}.json`;
export const policyDir = (round: number): string => `${roundDir(round)}/models/policy`;
export const reviserDir = (round: number): string => `${roundDir(round)}/models/reviser`;

/** Per-shard data files a round produces, by the name stages use in `inputs`/`outputs`. */
export const SHARD_KINDS = ['seeds', 'responses', 'verdicts', 'revisions', 'revision_verdicts', 'pairs', 'feedback_pairs', 'challenging', 'accepted'] as const;
export type ShardKind = (typeof SHARD_KINDS)[number];

/** Outputs of a stage job (relative paths), keyed by output name. */
export function stageOutputs(stage: Stage, round: number, shard: number): Record<string, string> {
  const f = (kind: ShardKind) => shardFile(round, kind, shard);
  switch (stage) {
    case 'prepare':
      return { seeds: SEEDS_FILE, rejected: REJECTED_SEEDS_FILE };
    case 'sft':
      return { model: SFT_MODEL_DIR, checkpoints: 'checkpoints/sft', metrics: 'metrics/sft.jsonl' };
    case 'sample':
      return { responses: f('responses') };
    case 'verify':
      return { verdicts: f('verdicts') };
    case 'revise':
      return { revisions: f('revisions') };
    case 'verify_revisions':
      return { revision_verdicts: f('revision_verdicts') };
    case 'pair':
      return { pairs: f('pairs'), feedback_pairs: f('feedback_pairs'), challenging: f('challenging'), accepted: f('accepted') };
    case 'train':
      return {
        policy: policyDir(round),
        reviser: reviserDir(round),
        checkpoints: `${roundDir(round)}/checkpoints`,
        metrics: `${roundDir(round)}/train_metrics.jsonl`,
      };
    case 'eval':
      return { eval: evalFile(round) };
    case 'report':
      return { report: 'report.md', plot: 'accuracy.png' };
    case 'advance':
      return {};
  }
}

/** Single-file inputs of a per-shard stage (train's inputs are lists, built by the agent). */
export function shardInputs(stage: Stage, round: number, shard: number, revision: boolean): Record<string, string> {
  const f = (kind: ShardKind) => shardFile(round, kind, shard);
  switch (stage) {
    case 'sample':
      return { seeds: f('seeds') };
    case 'verify':
      return { seeds: f('seeds'), responses: f('responses') };
    case 'revise':
      return { seeds: f('seeds'), responses: f('responses'), verdicts: f('verdicts') };
    case 'verify_revisions':
      return { seeds: f('seeds'), revisions: f('revisions') };
    case 'pair':
      return {
        seeds: f('seeds'),
        responses: f('responses'),
        verdicts: f('verdicts'),
        ...(revision ? { revisions: f('revisions'), revision_verdicts: f('revision_verdicts') } : {}),
      };
    case 'sft':
      return { seeds: SEEDS_FILE };
    default:
      return {};
  }
}
