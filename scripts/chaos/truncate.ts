/**
 * The chaos run's "stage file truncated mid-write" fault, in its two forms:
 *  - after its done record: a finished shard output loses its second half in place (a disk or a
 *    copy gone wrong). Its sha256 no longer matches the record, so the job reading it must refuse
 *    it (the run fails naming the file) or `ipa verify` must list it; `ipa resume` recomputes it.
 *  - before its done record: a job that has not finished finds half a file at its output path,
 *    and a half-written temp file beside it, as a writer killed mid-write leaves them. Nothing
 *    may read them: the job's own atomic rename replaces the first, the second is never named.
 * Target choice is pure (`pickTruncation`); `truncateInPlace` and `plantHalfWritten` touch files.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { stageOutputs } from '../../orchestrator/plan/paths.js';
import type { Stage } from '../../orchestrator/plan/stages.js';

/** A sharded job of a round, and the files it wrote (absolute), if it finished. */
export interface ShardJob {
  stage: Stage;
  round: number;
  shard: number;
  /** Output paths from its done record; absent while it has none. */
  outputs?: string[];
}

export interface TruncationPick {
  /** A finished output to cut in half (its record stays). */
  afterRecord?: string;
  /**
   * Whether its next reader (`consumerOf`) has not finished. When false, `ipa verify` may be all
   * that finds it, though a later stage of the shard can still read it (`pair` reads every
   * earlier output of its shard).
   */
  consumerPending?: boolean;
  /** A job without a done record whose output path gets half a file. */
  beforeRecord?: { stage: Stage; round: number; shard: number };
}

const key = (j: Pick<ShardJob, 'stage' | 'round' | 'shard'>) => `${j.round}.${j.stage}.${j.shard}`;

/** The first job that reads a shard job's outputs: the next stage of its shard, or the round's training after `pair`. */
export function consumerOf(
  job: Pick<ShardJob, 'stage' | 'round' | 'shard'>,
  stages: readonly Stage[],
): Pick<ShardJob, 'stage' | 'round' | 'shard'> {
  const i = stages.indexOf(job.stage);
  return i >= 0 && i < stages.length - 1
    ? { stage: stages[i + 1], round: job.round, shard: job.shard }
    : { stage: 'train', round: job.round, shard: 0 };
}

/**
 * What to truncate now: preferably a finished output whose reader has not finished (the run must
 * catch it), else any finished output; and a job that has not finished but whose predecessor has
 * (it is running or next). `stages`: a shard's stages in order (planner `shardStages`); `rand`
 * picks among equals.
 */
export function pickTruncation(
  jobs: readonly ShardJob[],
  finished: ReadonlySet<string>,
  stages: readonly Stage[],
  rand: () => number,
): TruncationPick {
  const pick = <T>(xs: T[]): T | undefined => (xs.length ? xs[Math.floor(rand() * xs.length)] : undefined);
  const done = jobs.filter((j) => j.outputs?.length);
  const unread = done.filter((j) => !finished.has(key(consumerOf(j, stages))));
  const source = pick(unread.length ? unread : done);
  const next = jobs.filter((j) => {
    if (j.outputs?.length) return false;
    const i = stages.indexOf(j.stage);
    return i === 0 || finished.has(key({ ...j, stage: stages[i - 1] }));
  });
  const target = pick(next);
  return {
    ...(source ? { afterRecord: pick(source.outputs!), consumerPending: unread.includes(source) } : {}),
    ...(target ? { beforeRecord: { stage: target.stage, round: target.round, shard: target.shard } } : {}),
  };
}

/** The key `pickTruncation` looks finished jobs up by. */
export const shardJobKey = key;

/** Cuts a file to half its bytes in place (mid-line for JSON lines); returns the bytes kept. */
export function truncateInPlace(path: string): number {
  const keep = Math.floor(statSync(path).size / 2);
  truncateSync(path, keep);
  return keep;
}

/**
 * Leaves what a writer killed mid-write leaves for job (stage, round, shard): half of `like`'s
 * bytes (a finished file of the same kind, else a cut JSON line) at the output path and in a
 * temp file beside it. Returns the paths written.
 */
export function plantHalfWritten(
  runDir: string,
  job: { stage: Stage; round: number; shard: number },
  like?: string,
): string[] {
  const full =
    like && existsSync(like) ? readFileSync(like) : Buffer.from('{"id": "half-written", "response": "a line cut o');
  const half = full.subarray(0, Math.max(1, Math.floor(full.length / 2)));
  const out: string[] = [];
  for (const rel of Object.values(stageOutputs(job.stage, job.round, job.shard))) {
    const path = join(runDir, rel);
    if (!existsSync(dirname(path))) continue;
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
    writeFileSync(tmp, half);
    writeFileSync(path, half);
    out.push(path, tmp);
  }
  return out;
}
