/**
 * The chaos run's fault schedule: which fault fires how long after submission, drawn from a seeded
 * PRNG so a schedule is reproducible from `--seed`. Pure: no process, file or clock.
 */
import { prng } from '../../orchestrator/report/paired.js';

/** The faults `make chaos` injects. */
export const FAULT_KINDS = [
  'agent-kill',
  'python-kill',
  'redis-restart',
  'flushall',
  'late-worker',
  'truncate',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ScheduledFault {
  kind: FaultKind;
  /** Milliseconds after the run's submission. */
  atMs: number;
}

/** mulberry32, the seeded PRNG the paired bootstrap uses too (uniform in [0, 1)). */
export { prng };

/**
 * How likely each kind is beyond the first one of each: process kills are the common accident;
 * a Redis wipe needs `ipa resume` and truncation a repair, so those are rarer.
 */
const WEIGHTS: Record<FaultKind, number> = {
  'agent-kill': 3,
  'python-kill': 3,
  'redis-restart': 2,
  flushall: 1,
  'late-worker': 2,
  truncate: 2,
};

function drawKind(rand: () => number): FaultKind {
  const total = FAULT_KINDS.reduce((s, k) => s + WEIGHTS[k], 0);
  let x = rand() * total;
  for (const k of FAULT_KINDS) {
    x -= WEIGHTS[k];
    if (x < 0) return k;
  }
  return FAULT_KINDS[FAULT_KINDS.length - 1];
}

export interface ScheduleOptions {
  /** Faults in all; at least one of each kind when this is ≥ the number of kinds. */
  faults: number;
  /** The undisturbed run's duration: faults land within `window` of it. */
  refMs: number;
  /**
   * Fractions of `refMs` the faults are drawn from. Faults slow a run down, so a window ending
   * well before 1 still lands inside it on a jittery shared machine.
   * @defaultValue [0.05, 0.6]
   */
  window?: readonly [number, number];
}

/** `faults` faults of random kinds (every kind at least once) at random times, in firing order. */
export function schedule(opts: ScheduleOptions, rand: () => number): ScheduledFault[] {
  if (!Number.isInteger(opts.faults) || opts.faults < 0)
    throw new RangeError(`faults must be a whole number ≥ 0, got ${opts.faults}`);
  const [lo, hi] = opts.window ?? [0.05, 0.6];
  const kinds: FaultKind[] = FAULT_KINDS.slice(0, Math.min(opts.faults, FAULT_KINDS.length));
  while (kinds.length < opts.faults) kinds.push(drawKind(rand));
  return kinds
    .map((kind) => ({ kind, atMs: Math.round(opts.refMs * (lo + (hi - lo) * rand())) }))
    .sort((x, y) => x.atMs - y.atMs);
}
