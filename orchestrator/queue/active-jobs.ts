/**
 * The jobs of a run that workers are running now, with the progress they last reported
 * (`job.updateProgress`: done/total and the Python stage's metrics, e.g. the training step, loss
 * and phase). Read from Redis, so it shows the work of any worker, in-process or not.
 */
import { parseJobId, QUEUE_KINDS, type Stage } from '../plan/stages.js';
import type { QueueSet } from './queues.js';

/** What a running job last reported; `phase` names a step with no count yet (loading a model). */
export interface JobProgress {
  done: number;
  total: number;
  metrics: Record<string, unknown>;
}

export interface ActiveJob {
  id: string;
  round: number;
  stage: Stage;
  shard: number;
  /** When the current try started (ms since the epoch), as BullMQ recorded it. */
  startedAt: number;
  progress?: JobProgress;
  /** Time its current phase still needs at its steps' rate (the agent's progress file); absent when unknown. */
  etaMs?: number;
}

/** Reads a progress value as `updateProgress` stored it; anything else counts as none. */
export function asProgress(p: unknown): JobProgress | undefined {
  if (!p || typeof p !== 'object') return undefined;
  const o = p as Record<string, unknown>;
  if (typeof o.done !== 'number' || typeof o.total !== 'number') return undefined;
  return {
    done: o.done,
    total: o.total,
    metrics: o.metrics && typeof o.metrics === 'object' ? (o.metrics as Record<string, unknown>) : {},
  };
}

/** The run's active jobs on every queue, oldest first. */
export async function activeJobsOf(queues: QueueSet, runId: string): Promise<ActiveJob[]> {
  const out: ActiveJob[] = [];
  for (const kind of QUEUE_KINDS) {
    for (const job of await queues.queue(kind).getActive()) {
      const at = job?.id ? parseJobId(job.id) : undefined;
      if (!job || !at || at.runId !== runId) continue;
      out.push({
        id: job.id!,
        round: at.round,
        stage: at.stage,
        shard: at.shard,
        startedAt: job.processedOn ?? Date.now(),
        progress: asProgress(job.progress),
      });
    }
  }
  return out.sort((a, b) => a.startedAt - b.startedAt);
}
