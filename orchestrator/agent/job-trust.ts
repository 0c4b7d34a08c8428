/**
 * The agent trusts no job. Anyone who can write to the queues (a writable bull-board, a script
 * with the Redis URL) can add a job with any id and data, and register any run in Redis, so
 * before a job touches the disk it must prove it belongs: well-formed coordinates, an id derived
 * from them, on the queue its stage uses; a run registered on this Redis and prefix whose
 * directory this agent's own host vouches for (run-anchor.ts: registered locally or under a run
 * root), signed when a queue secret is set (job-signer.ts); a run.json that agrees, a recipe whose
 * paths stay inside its roots; and a stage, round and shard that the run's plan holds. Anything
 * else fails as unrecoverable with the reason, and nothing is written (no state, attempt line,
 * log or record). Paths the job's payload names are held inside the run directory by `buildPayload`.
 *
 * The checks keep their meaning at any scale and cost O(1) per job: run files and round
 * membership are cached per run and revalidated by a stat (trusted-runs.ts).
 */
import { basename, resolve } from 'node:path';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { isSafeRunId, jobId, STAGE_QUEUE, STAGES, type QueueKind } from '../plan/stages.js';
import type { JobSigner } from '../queue/job-signer.js';
import { readRegistration, registrationSigned } from '../queue/run-registration.js';
import type { Recipe } from '../recipe/schema.js';
import { RunDamaged } from '../store/damage.js';
import type { RunInfo, RunStore } from '../store/run-store.js';
import type { AgentJobData } from './failures.js';
import type { RunAnchor } from './run-anchor.js';
import type { TrustedRuns } from './trusted-runs.js';

/**
 * A job that did not prove it belongs: fails for good, and its run is left alone. `pending` marks
 * the one refusal that time may lift — a registered run whose plan does not hold the job yet (its
 * round is being opened) — which the agent retries after a delay before it counts.
 */
export class UntrustedJob extends UnrecoverableError {
  constructor(
    reason: string,
    readonly pending = false,
  ) {
    super(`untrusted job: ${reason}`);
    this.name = 'UntrustedJob';
  }
}

export function isUntrusted(err: Error): boolean {
  return err instanceof UntrustedJob || err.name === 'UntrustedJob';
}

/** The data an orchestrator-made job carries: coordinates only (and their signature), nothing else. */
const JobDataSchema = z
  .object({
    runId: z.string().refine(isSafeRunId, 'not a plain run id'),
    runDir: z.string().regex(/^\//, 'not an absolute path'),
    round: z.number().int().min(0).max(10_000),
    stage: z.enum(STAGES),
    shard: z.number().int().min(0).max(1_000_000),
    batchScale: z.number().gt(0).max(1).optional(),
    sig: z.string().max(128).optional(),
  })
  .strict();

export interface TrustedJob {
  id: string;
  data: AgentJobData;
  store: RunStore;
  /** run.json as checked (the agent reads the run's state from it). */
  info: RunInfo;
  recipe: Recipe;
  /** Seed shards of the job's round (0 in round 0). */
  shards: number;
}

export interface TrustContext {
  redis: Redis;
  prefix: string;
  /** The queue the job was taken from. */
  queue: QueueKind;
  /** What this host vouches for. */
  anchor: RunAnchor;
  /** Checked run files and round membership, kept between jobs. */
  runs: TrustedRuns;
  /** With a queue secret: registry entries and jobs must carry its signature. */
  signer?: JobSigner;
}

/** Checks the job's id and data against the runs registry, this host's anchor, the run directory and its plan. */
export async function trustJob(job: { id?: string; data: unknown }, ctx: TrustContext): Promise<TrustedJob> {
  const parsed = JobDataSchema.safeParse(job.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'data'}: ${i.message}`).join('; ');
    throw new UntrustedJob(`job ${JSON.stringify(job.id)} has malformed data (${issues})`);
  }
  const { sig, ...d } = parsed.data;
  const id = jobId(d);
  if (job.id !== id)
    throw new UntrustedJob(`job id ${JSON.stringify(job.id)} does not match its data (expected ${id})`);
  if (STAGE_QUEUE[d.stage] !== ctx.queue)
    throw new UntrustedJob(`${id}: stage ${d.stage} runs on queue ${STAGE_QUEUE[d.stage]}, not ${ctx.queue}`);
  if (ctx.signer && !ctx.signer.verifyJob(id, d, sig))
    throw new UntrustedJob(
      `${id}: ${sig === undefined ? 'unsigned' : 'its signature does not match its data'}, and this worker has a queue secret (IPA_SECRET_FILE): only ipa submit/resume with the same secret make jobs it runs`,
    );

  const registered = await readRegistration(ctx.redis, ctx.prefix, d.runId);
  if (!registered)
    throw new UntrustedJob(
      `${id}: run ${d.runId} was not submitted on this Redis under prefix "${ctx.prefix}" (not in the runs registry; \`ipa resume\` registers a run again)`,
    );
  if (ctx.signer && !registrationSigned(ctx.signer, ctx.prefix, d.runId, registered))
    throw new UntrustedJob(`${id}: the registry entry of run ${d.runId} is not signed with this worker's queue secret`);
  if (resolve(registered.dir) !== resolve(d.runDir) || basename(d.runDir) !== d.runId) {
    throw new UntrustedJob(
      `${id}: run directory ${d.runDir} is not the one registered for run ${d.runId} (${registered.dir})`,
    );
  }
  const refusal = ctx.anchor.refusal(d.runId, d.runDir);
  if (refusal) throw new UntrustedJob(`${id}: ${refusal}`);

  const run = ctx.runs.run(d.runId, resolve(registered.dir));
  let info: RunInfo;
  let recipe: Recipe;
  try {
    info = run.info();
    if (info.id !== d.runId)
      throw new UntrustedJob(`${id}: ${run.store.abs('run.json')} names run ${info.id}, not ${d.runId}`);
    if (info.queue_prefix !== ctx.prefix)
      throw new UntrustedJob(`${id}: run ${d.runId} uses queue prefix "${info.queue_prefix}", not "${ctx.prefix}"`);
    recipe = run.recipe();
  } catch (err) {
    if (err instanceof RunDamaged) throw new UntrustedJob(`${id}: ${err.message}`);
    throw err;
  }
  if (!run.holds(recipe, d.round, d.stage, d.shard))
    throw new UntrustedJob(
      `${id}: round ${d.round}, stage ${d.stage}, shard ${d.shard} is not in the plan of run ${d.runId}`,
      true,
    );
  return { id, data: d, store: run.store, info, recipe, shards: run.shards(recipe, d.round) };
}
