/** The chaos schedule (scripts/chaos/schedule.ts): seeded, every kind present, times inside the window. */
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, prng, schedule } from '../../scripts/chaos/schedule.js';

describe('chaos schedule', () => {
  it('draws the asked number of faults, every kind at least once, in firing order inside the window', () => {
    const s = schedule({ faults: 24, refMs: 100_000 }, prng(1));
    expect(s).toHaveLength(24);
    for (const k of FAULT_KINDS) expect(s.some((f) => f.kind === k)).toBe(true);
    for (const f of s) {
      expect(f.atMs).toBeGreaterThanOrEqual(5_000);
      expect(f.atMs).toBeLessThanOrEqual(60_000);
    }
    expect(s.map((f) => f.atMs)).toEqual([...s.map((f) => f.atMs)].sort((a, b) => a - b));
  });

  it('is the same for the same seed and differs for another', () => {
    const a = schedule({ faults: 24, refMs: 100_000 }, prng(1));
    expect(schedule({ faults: 24, refMs: 100_000 }, prng(1))).toEqual(a);
    expect(schedule({ faults: 24, refMs: 100_000 }, prng(2))).not.toEqual(a);
  });

  it('gives fewer faults than kinds as the first kinds, and refuses a count that is not a whole number', () => {
    expect(
      schedule({ faults: 2, refMs: 1000 }, prng(3))
        .map((f) => f.kind)
        .sort(),
    ).toEqual(['agent-kill', 'python-kill']);
    expect(schedule({ faults: 0, refMs: 1000 }, prng(3))).toEqual([]);
    expect(() => schedule({ faults: 1.5, refMs: 1000 }, prng(3))).toThrow(/whole number/);
  });

  it('draws kinds beyond the first of each by weight, so every kind recurs in a long schedule', () => {
    const counts = new Map<string, number>();
    for (const f of schedule({ faults: 600, refMs: 1000 }, prng(4))) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
    for (const k of FAULT_KINDS) expect(counts.get(k)).toBeGreaterThan(20);
    expect(counts.get('agent-kill')!).toBeGreaterThan(counts.get('flushall')!);
  });
});
