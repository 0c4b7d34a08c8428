/**
 * The agent's memory check: before a run's first GPU job on this worker, its memory plan
 * (plan/memory-plan.ts) from the run's recipe, the model's config.json, this worker's queues and
 * its card; printed once per run, and a plan that cannot fit refuses the run's jobs with the
 * numbers and the setting to change. Nothing is checked without a card (a CPU worker) or before
 * the model folder exists (a tiny model `prepare` has not built yet).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Device } from '../contract/protocol.js';
import { GiB, memoryPlans, modelShape, planLines, type Card, type MemoryPlan } from '../plan/memory-plan.js';
import type { Recipe } from '../recipe/schema.js';

/** Queues whose jobs run on the card (the others are Node control jobs or CPU work). */
const GPU_QUEUES = new Set(['sample', 'verify', 'revise', 'eval', 'train']);

/** The card a worker's jobs run on: `--card-gib` when given, else the first CUDA device it sees. */
export function workerCard(devices: readonly Device[], cardGib?: number): Card | undefined {
  if (cardGib !== undefined) return { name: `a ${cardGib} GiB card (--card-gib)`, bytes: cardGib * GiB };
  const cuda = devices.find((d): d is Extract<Device, { kind: 'cuda' }> => d.kind === 'cuda');
  return cuda ? { name: cuda.name, bytes: cuda.memory_bytes } : undefined;
}

/** The plans of `recipe` on `card` for a worker serving `queues`, or undefined when the model's config.json is not there yet. */
export function recipePlans(
  recipe: Recipe,
  card: Card,
  queues: readonly string[],
  trainProcesses: number,
): MemoryPlan[] | undefined {
  const config = join(recipe.model.base, 'config.json');
  if (!existsSync(config)) return undefined;
  return memoryPlans(
    recipe,
    modelShape(JSON.parse(readFileSync(config, 'utf8'))),
    card,
    queues.filter((q) => GPU_QUEUES.has(q)),
    trainProcesses,
  );
}

/** Why a plan refuses, in one message: every part that cannot fit, with its numbers and the setting to change. */
export function refusal(plans: readonly MemoryPlan[]): string | undefined {
  const bad = plans.filter((p) => !p.fits);
  return bad.length
    ? `memory plan: ${bad.map((p) => `${p.part} on ${p.card.name} cannot fit: ${p.problem}`).join('; ')}`
    : undefined;
}

export interface MemoryGateOptions {
  queues: readonly string[];
  trainProcesses: number;
  devices: () => readonly Device[];
  cardGib?: number;
  /** Take the jobs even when a plan cannot fit (the plan is partly an estimate). */
  skip?: boolean;
}

export interface GateAnswer {
  /** The plan, in lines, the first time a run is checked. */
  lines?: string[];
  /** Why the run's jobs are refused on this worker. */
  refusal?: string;
}

export class MemoryGate {
  /** Run id → its refusal ('' when the plan fits or was not checked). */
  private readonly checked = new Map<string, string>();

  constructor(private readonly opts: MemoryGateOptions) {}

  /** `runId`'s plan on this worker (its lines the first time) and the refusal of its jobs, if it cannot fit. */
  check(runId: string, recipe: Recipe, queue: string): GateAnswer {
    if (!GPU_QUEUES.has(queue)) return {};
    const known = this.checked.get(runId);
    if (known !== undefined) return known ? { refusal: known } : {};
    const card = workerCard(this.opts.devices(), this.opts.cardGib);
    if (!card) {
      this.checked.set(runId, '');
      return {};
    }
    const plans = recipePlans(recipe, card, this.opts.queues, this.opts.trainProcesses);
    if (!plans) return {}; // the model is not built yet: look again at the next job
    const why = this.opts.skip ? '' : (refusal(plans) ?? '');
    this.checked.set(runId, why);
    return {
      lines: [`memory plan of run ${runId} on this worker:`, ...plans.flatMap(planLines)],
      refusal: why || undefined,
    };
  }
}
