/**
 * The agent trusts no job. Anyone who can write to the queues (a writable bull-board, a script
 * with the Redis URL) can add a job with any id and data, so before a job touches the disk it must
 * prove it belongs: well-formed coordinates, an id derived from them, a run that `ipa submit`
 * registered on this Redis and prefix (the runs registry) whose own run.json agrees, on the queue
 * its stage uses, and a stage, round and shard that the run's plan holds. Anything else fails as
 * unrecoverable with the reason, and nothing is written (no state, attempt line, log or record).
 * Paths the job's payload names are held inside the run directory by `buildPayload`.
 */
import { basename, resolve } from 'node:path';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { flattenPlan, planPreparation, planRound, roundCount } from '../plan/planner.js';
import { isSafeRunId, jobId, STAGE_QUEUE, STAGES, type QueueKind } from '../plan/stages.js';
import { keys } from '../queue/queues.js';
import type { Recipe } from '../recipe/schema.js';
import { RunDamaged } from '../store/damage.js';
import { shardCount } from '../store/manifest.js';
import { RunStore } from '../store/run-store.js';
import type { AgentJobData } from './failures.js';

/** A job that did not prove it belongs: fails for good, and its run is left alone. */
export class UntrustedJob extends UnrecoverableError {
  constructor(reason: string) {
    super(`untrusted job: ${reason}`);
    this.name = 'UntrustedJob';
  }
}

export function isUntrusted(err: Error): boolean {
  return err instanceof UntrustedJob || err.name === 'UntrustedJob';
}

/** The data an orchestrator-made job carries: coordinates only, nothing else. */
const JobDataSchema = z
  .object({
    runId: z.string().refine(isSafeRunId, 'not a plain run id'),
    runDir: z.string().regex(/^\//, 'not an absolute path'),
    round: z.number().int().min(0).max(10_000),
    stage: z.enum(STAGES),
    shard: z.number().int().min(0).max(1_000_000),
    batchScale: z.number().gt(0).max(1).optional(),
  })
  .strict();

export interface TrustedJob {
  id: string;
  data: AgentJobData;
  store: RunStore;
  recipe: Recipe;
}

export interface TrustContext {
  redis: Redis;
  prefix: string;
  /** The queue the job was taken from. */
  queue: QueueKind;
}

/** Checks the job's id and data against the runs registry, the run directory and its plan. */
export async function trustJob(job: { id?: string; data: unknown }, ctx: TrustContext): Promise<TrustedJob> {
  const parsed = JobDataSchema.safeParse(job.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'data'}: ${i.message}`).join('; ');
    throw new UntrustedJob(`job ${JSON.stringify(job.id)} has malformed data (${issues})`);
  }
  const d = parsed.data;
  const id = jobId(d);
  if (job.id !== id) throw new UntrustedJob(`job id ${JSON.stringify(job.id)} does not match its data (expected ${id})`);
  if (STAGE_QUEUE[d.stage] !== ctx.queue) throw new UntrustedJob(`${id}: stage ${d.stage} runs on queue ${STAGE_QUEUE[d.stage]}, not ${ctx.queue}`);

  const registered = await ctx.redis.hget(keys.runs(ctx.prefix), d.runId);
  if (!registered) throw new UntrustedJob(`${id}: run ${d.runId} was not submitted on this Redis under prefix "${ctx.prefix}" (not in the runs registry; \`ipa resume\` registers a run again)`);
  if (resolve(registered) !== resolve(d.runDir) || basename(d.runDir) !== d.runId) {
    throw new UntrustedJob(`${id}: run directory ${d.runDir} is not the one registered for run ${d.runId} (${registered})`);
  }

  const store = new RunStore(resolve(registered));
  let recipe: Recipe;
  try {
    const info = store.info();
    if (info.id !== d.runId) throw new UntrustedJob(`${id}: ${store.abs('run.json')} names run ${info.id}, not ${d.runId}`);
    if (info.queue_prefix !== ctx.prefix) throw new UntrustedJob(`${id}: run ${d.runId} uses queue prefix "${info.queue_prefix}", not "${ctx.prefix}"`);
    recipe = store.recipe();
  } catch (err) {
    if (err instanceof RunDamaged) throw new UntrustedJob(`${id}: ${err.message}`);
    throw err;
  }
  if (!inPlan(store, recipe, d)) throw new UntrustedJob(`${id}: round ${d.round}, stage ${d.stage}, shard ${d.shard} is not in the plan of run ${d.runId}`);
  return { id, data: d, store, recipe };
}

/** Whether the run's plan holds the job: round 0, or a round its predecessor opened. */
function inPlan(store: RunStore, recipe: Recipe, d: AgentJobData): boolean {
  if (d.round > roundCount(recipe)) return false;
  const opened = d.round === 0 || store.doneRecord(jobId({ runId: d.runId, round: d.round - 1, stage: 'advance', shard: 0 })) !== undefined;
  if (!opened) return false;
  const plan = d.round === 0 ? planPreparation(recipe, d.runId) : planRound(recipe, d.runId, d.round, shardCount(store, d.round));
  return flattenPlan(plan).some((n) => n.stage === d.stage && n.round === d.round && n.shard === d.shard);
}
