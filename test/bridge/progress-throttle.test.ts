import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressThrottle } from '../../orchestrator/bridge/progress-throttle.js';

describe('ProgressThrottle', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes the first update at once and holds the rest of the interval', () => {
    const out: number[] = [];
    const t = new ProgressThrottle<number>(2, (v) => out.push(v));
    t.push(1);
    t.push(2);
    t.push(3);
    expect(out).toEqual([1]);
    expect(t.pending).toBe(true);
  });

  it('delivers the newest held update when the interval ends', () => {
    const out: number[] = [];
    const t = new ProgressThrottle<number>(2, (v) => out.push(v));
    t.push(1);
    t.push(2);
    t.push(3);
    vi.advanceTimersByTime(499);
    expect(out).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(out).toEqual([1, 3]);
    expect(t.pending).toBe(false);
  });

  it('never exceeds the rate under a flood of updates', () => {
    const out: number[] = [];
    const t = new ProgressThrottle<number>(2, (v) => out.push(v));
    for (let i = 0; i < 1000; i++) {
      t.push(i);
      vi.advanceTimersByTime(10);
    }
    // 10 s of updates at 2 a second: the first at once, then one per 500 ms.
    expect(out.length).toBeLessThanOrEqual(21);
    expect(out.length).toBeGreaterThanOrEqual(19);
    t.flush();
    expect(out.at(-1)).toBe(999);
  });

  it('flush passes the last update at once, and only once', () => {
    const out: string[] = [];
    const t = new ProgressThrottle<string>(1, (v) => out.push(v));
    t.push('a');
    t.push('b');
    t.flush();
    expect(out).toEqual(['a', 'b']);
    t.flush();
    vi.advanceTimersByTime(5000);
    expect(out).toEqual(['a', 'b']);
  });

  it('passes spaced-out updates straight through', () => {
    const out: number[] = [];
    const t = new ProgressThrottle<number>(2, (v) => out.push(v));
    for (let i = 0; i < 5; i++) {
      t.push(i);
      vi.advanceTimersByTime(600);
    }
    expect(out).toEqual([0, 1, 2, 3, 4]);
  });

  it('uses an injected clock', () => {
    let now = 0;
    const out: number[] = [];
    const t = new ProgressThrottle<number>(
      10,
      (v) => out.push(v),
      () => now,
    );
    t.push(1);
    now = 50;
    t.push(2);
    expect(out).toEqual([1]);
    now = 100;
    t.flush();
    t.push(3);
    expect(out).toEqual([1, 2]);
  });

  it('rejects a non-positive rate', () => {
    expect(() => new ProgressThrottle(0, () => undefined)).toThrow(RangeError);
  });
});
