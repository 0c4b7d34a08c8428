/**
 * Paired comparisons of two variants on the same evaluation items (the premise task's per-item
 * outcomes), per seed and pooled over seeds, with a paired bootstrap interval: items are resampled
 * with replacement within each seed (both variants keep their outcomes on a drawn item), so the
 * interval covers the item sampling of a finite held-out split. Deterministic (a seeded PRNG).
 */

/** One variant's outcome (0 or 1) per item, aligned with the other variant's by item id. */
export type Outcomes = Map<string, boolean>;

export interface Interval {
  /** Mean difference a − b, in points. */
  diff: number;
  /** 2.5 % and 97.5 % bootstrap quantiles of it, in points. */
  lo: number;
  hi: number;
  /** Items compared (present in both). */
  n: number;
}

/** mulberry32: a small seeded PRNG, so the same outcomes always give the same interval. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per item difference a − b (−1, 0, 1) over the items both have. */
export function itemDifferences(a: Outcomes, b: Outcomes): number[] {
  const out: number[] = [];
  for (const [id, x] of [...a].sort(([p], [q]) => p.localeCompare(q))) {
    const y = b.get(id);
    if (y !== undefined) out.push(Number(x) - Number(y));
  }
  return out;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * sorted.length)))];

/**
 * The mean over seeds of each seed's mean difference, and its bootstrap interval: each resample
 * draws every seed's items with replacement. One seed gives that seed's paired interval.
 */
export function pairedBootstrap(perSeed: number[][], resamples = 4000, seed = 20261130): Interval {
  const seeds = perSeed.filter((d) => d.length);
  const n = seeds.reduce((a, d) => a + d.length, 0);
  if (!seeds.length) return { diff: NaN, lo: NaN, hi: NaN, n: 0 };
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  const diff = mean(seeds.map(mean));
  const rand = prng(seed);
  const stats: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let total = 0;
    for (const d of seeds) {
      let s = 0;
      for (let i = 0; i < d.length; i++) s += d[Math.floor(rand() * d.length)];
      total += s / d.length;
    }
    stats.push(total / seeds.length);
  }
  stats.sort((x, y) => x - y);
  return { diff: 100 * diff, lo: 100 * quantile(stats, 0.025), hi: 100 * quantile(stats, 0.975), n };
}

export const excludesZero = (i: Interval) => i.lo > 0 || i.hi < 0;

export function formatInterval(i: Interval): string {
  if (!Number.isFinite(i.diff)) return '–';
  const s = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`;
  return `${s(i.diff)} [${s(i.lo)}, ${s(i.hi)}]`;
}
