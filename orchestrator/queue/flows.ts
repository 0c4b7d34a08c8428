/**
 * Turns a plan tree into a BullMQ flow (children finish before their parent) and adds it.
 * A permanently failed child fails its parent, so a broken round does not wait forever.
 */
import type { FlowJob } from 'bullmq';
import type { PlanNode } from '../plan/planner.js';
import { jobId, STAGE_QUEUE, type JobDescriptor } from '../plan/stages.js';
import type { Recipe } from '../recipe/schema.js';
import type { JobSigner } from './job-signer.js';
import { jobOptions, type QueueSet } from './queues.js';

export function toFlowJob(n: PlanNode, run: { id: string; dir: string }, recipe: Recipe, signer?: JobSigner, isRoot = true): FlowJob {
  const coords: JobDescriptor = { runId: run.id, runDir: run.dir, round: n.round, stage: n.stage, shard: n.shard };
  const id = jobId(coords);
  return {
    name: id,
    queueName: STAGE_QUEUE[n.stage],
    data: signer ? { ...coords, sig: signer.signJob(id, coords) } : coords,
    opts: { ...jobOptions(recipe), jobId: id, ...(isRoot ? {} : { failParentOnFailure: true }) },
    children: n.children.map((c) => toFlowJob(c, run, recipe, signer, false)),
  };
}

/**
 * Adds the plan unless its root job is already queued (re-adding the same ids is then a no-op,
 * which makes a retried `advance` idempotent). Returns the number of jobs added.
 */
export async function addPlan(queues: QueueSet, plan: PlanNode | undefined, run: { id: string; dir: string }, recipe: Recipe): Promise<number> {
  if (!plan) return 0;
  const root = toFlowJob(plan, run, recipe, queues.signer);
  const existing = await queues.queue(STAGE_QUEUE[plan.stage]).getJob(root.opts!.jobId!);
  if (existing) return 0;
  await queues.flows().add(root);
  const count = (f: FlowJob): number => 1 + (f.children ?? []).reduce((a, c) => a + count(c), 0);
  return count(root);
}
