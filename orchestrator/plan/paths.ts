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
export const shardFile = (round: number, kind: string, shard: number): string =>
  `${roundDir(round)}/${kind}/shard-${pad3(shard)}.jsonl`;
export const SEEDS_FILE = 'data/seeds.jsonl';
export const REJECTED_SEEDS_FILE = 'data/rejected_seeds.jsonl';
export const SFT_MODEL_DIR = 'models/sft';
export const evalFile = (round: number): string => `eval/round-${round}.json`;
/** lmms-eval's own output for round r: the policy folder it loads and its results and samples files. */
export const lmmsEvalDir = (round: number): string => `eval/lmms-eval/round-${round}`;
export const policyDir = (round: number): string => `${roundDir(round)}/models/policy`;
export const reviserDir = (round: number): string => `${roundDir(round)}/models/reviser`;

/** Per-shard data files a round produces, by the name stages use in `inputs`/`outputs`. */
export const SHARD_KINDS = [
  'seeds',
  'responses',
  'verdicts',
  'revisions',
  'revision_verdicts',
  'pairs',
  'feedback_pairs',
  'challenging',
  'accepted',
] as const;
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
      return {
        pairs: f('pairs'),
        feedback_pairs: f('feedback_pairs'),
        challenging: f('challenging'),
        accepted: f('accepted'),
      };
    case 'train':
      return {
        policy: policyDir(round),
        reviser: reviserDir(round),
        checkpoints: `${roundDir(round)}/checkpoints`,
        metrics: `${roundDir(round)}/train_metrics.jsonl`,
      };
    case 'eval':
      return { eval: evalFile(round), lmms_eval: lmmsEvalDir(round) };
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

/** A job's coordinates within its run (the run id is the caller's). */
export interface JobCoordinates {
  stage: Stage;
  round: number;
  shard: number;
}

/** Which stage writes each per-shard kind of file (seeds: the previous round's `advance`). */
const SHARD_WRITER: Record<ShardKind, Stage> = {
  seeds: 'advance',
  responses: 'sample',
  verdicts: 'verify',
  revisions: 'revise',
  revision_verdicts: 'verify_revisions',
  pairs: 'pair',
  feedback_pairs: 'pair',
  challenging: 'pair',
  accepted: 'pair',
};

/**
 * The job whose done record names `rel` (a path relative to the run directory) as an output, or
 * undefined for a path no job writes. The inverse of `stageOutputs` for the files stages read.
 */
export function producerOf(rel: string): JobCoordinates | undefined {
  if (rel === SEEDS_FILE || rel === REJECTED_SEEDS_FILE) return { stage: 'prepare', round: 0, shard: 0 };
  if (rel === SFT_MODEL_DIR) return { stage: 'sft', round: 0, shard: 0 };
  const ev = /^eval\/round-(\d+)\.json$/.exec(rel);
  if (ev) return { stage: 'eval', round: Number(ev[1]), shard: 0 };
  const model = /^round-(\d+)\/models\/(policy|reviser)$/.exec(rel);
  if (model) return { stage: 'train', round: Number(model[1]), shard: 0 };
  const shard = /^round-(\d+)\/([a-z_]+)\/shard-(\d{3,})\.jsonl$/.exec(rel);
  if (!shard || !(SHARD_KINDS as readonly string[]).includes(shard[2])) return undefined;
  const round = Number(shard[1]);
  const stage = SHARD_WRITER[shard[2] as ShardKind];
  return stage === 'advance' ? { stage, round: round - 1, shard: 0 } : { stage, round, shard: Number(shard[3]) };
}
