/**
 * The stages of a run, the queue each runs on, and deterministic job ids.
 * Pure data: the planner, the agent and the CLI share it.
 */

/** Stage kinds that own a queue; the rest of a round's stages reuse them. */
export const QUEUE_KINDS = ['control', 'prepare', 'sample', 'verify', 'revise', 'pair', 'train', 'eval'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

/** Every stage, in the order they run within a round (a round runs those its recipe plans). */
export const STAGES = [
  'prepare',
  'sft',
  'sample',
  'verify',
  'revise',
  'verify_revisions',
  'pair',
  'train',
  'eval',
  'report',
  'advance',
] as const;
export type Stage = (typeof STAGES)[number];

/** Which queue a stage's jobs wait in (verify_revisions shares the verifier's workers). */
export const STAGE_QUEUE: Record<Stage, QueueKind> = {
  prepare: 'prepare',
  sft: 'train',
  sample: 'sample',
  verify: 'verify',
  revise: 'revise',
  verify_revisions: 'verify',
  pair: 'pair',
  train: 'train',
  eval: 'eval',
  report: 'eval',
  advance: 'control',
};

/** Stages that run in a fresh Python process so their memory is freed afterwards. */
export const FRESH_PROCESS_STAGES: ReadonlySet<Stage> = new Set<Stage>(['sft', 'train']);

/** Stages with one job per shard; the others have one job per round (shard 0). */
export const SHARDED_STAGES: ReadonlySet<Stage> = new Set<Stage>([
  'sample',
  'verify',
  'revise',
  'verify_revisions',
  'pair',
]);

/** What a BullMQ job carries: coordinates only; data lives in the run directory. */
export interface JobDescriptor {
  runId: string;
  runDir: string;
  round: number;
  stage: Stage;
  shard: number;
}

export const pad3 = (n: number): string => String(n).padStart(3, '0');

/** What a run id may be: it names a folder under the runs directory and prefixes job ids. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** A run id that is one plain folder name (no separator, no `..`), safe to join to a path. */
export function isSafeRunId(id: string): boolean {
  return RUN_ID_PATTERN.test(id) && !id.includes('..');
}

/** `<run-id>.r<round>.<stage>.s<shard>`: BullMQ forbids ':' in custom ids. */
export function jobId(d: Pick<JobDescriptor, 'runId' | 'round' | 'stage' | 'shard'>): string {
  return `${d.runId}.r${d.round}.${d.stage}.s${pad3(d.shard)}`;
}

export function parseJobId(id: string): Pick<JobDescriptor, 'runId' | 'round' | 'stage' | 'shard'> | undefined {
  const m = /^(.+)\.r(\d+)\.([a-z_]+)\.s(\d+)$/.exec(id);
  if (!m || !(STAGES as readonly string[]).includes(m[3])) return undefined;
  return { runId: m[1], round: Number(m[2]), stage: m[3] as Stage, shard: Number(m[4]) };
}

/** Where a job sits in its run, in words: "round 1 · sample · shard 2"; no shard for stages with one job per round. */
export function jobPlace(d: Pick<JobDescriptor, 'round' | 'stage' | 'shard'>): string {
  return `round ${d.round} · ${d.stage}${SHARDED_STAGES.has(d.stage) ? ` · shard ${d.shard}` : ''}`;
}
