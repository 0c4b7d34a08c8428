/**
 * The benchmark runner in its reduced form (bridge and control, --quick) against the test Redis:
 * the results have the documented shape and every ratio is a finite positive number. Whether a
 * goal passes is not asserted: timings on a shared machine are no test.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Results } from '../../bench/lib/types.js';
import { redisUrl, testConnection } from '../helpers/redis.js';

const REPO = resolve(import.meta.dirname, '..', '..');

describe('bench/run.ts --quick --only bridge,control', () => {
  const out = mkdtempSync(join(tmpdir(), 'ipa-bench-test-'));
  let results: Results;
  let markdown: string;
  let stdout: string;

  beforeAll(async () => {
    const r = await execa('npx', ['tsx', 'bench/run.ts', '--quick', '--only', 'bridge,control', '--out', out], {
      cwd: REPO,
      env: { REDIS_URL: redisUrl() },
      reject: false,
    });
    if (r.exitCode !== 0) throw new Error(`bench exited ${r.exitCode}:\n${r.stderr}`);
    stdout = String(r.stdout);
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    markdown = readFileSync(join(out, 'results.md'), 'utf8');
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('describes the machine and the run', () => {
    expect(results.quick).toBe(true);
    expect(results.machine.cores).toBeGreaterThan(0);
    for (const k of ['cpu', 'node', 'python', 'torch', 'bullmq', 'redis'] as const)
      expect(typeof results.machine[k]).toBe('string');
    expect(results.seconds).toBeGreaterThan(0);
  });

  it('holds the two chosen benchmarks, each with rows of ours vs baseline', () => {
    expect(results.benchmarks.map((b) => b.name)).toEqual(['control', 'bridge']);
    for (const b of results.benchmarks) {
      expect(b.rows.length).toBeGreaterThan(0);
      expect(typeof b.ours).toBe('string');
      expect(typeof b.baseline).toBe('string');
      for (const row of b.rows) {
        for (const s of [row.ours, row.baseline]) {
          expect(s.n).toBeGreaterThanOrEqual(5);
          expect(s.min).toBeLessThanOrEqual(s.median);
          expect(s.median).toBeLessThanOrEqual(s.max);
        }
        expect(['PASS', 'MISS', 'info']).toContain(row.status);
        if (row.goal) expect(['>=', '<=']).toContain(row.goal.op);
      }
    }
  });

  it('gives every ratio as a finite positive number', () => {
    const ratios = results.benchmarks.flatMap((b) => b.rows.map((r) => r.ratio));
    expect(ratios.length).toBeGreaterThanOrEqual(5);
    for (const r of ratios) {
      expect(Number.isFinite(r)).toBe(true);
      expect(r).toBeGreaterThan(0);
    }
  });

  it('writes and prints the Markdown table, with a goal column for the goal rows', () => {
    expect(stdout.trim()).toBe(markdown.trim());
    expect(markdown).toContain('| benchmark | metric | unit | n | ours | baseline | ratio | goal | result |');
    expect(markdown).toMatch(
      /\| control \| throughput: planner \+ chains \+ agent \|.*\| ≥ 0\.8× \| \*\*(PASS|MISS)\*\* \|/,
    );
    expect(markdown).toMatch(/\| bridge \| sequential round trip \|.*\| ≤ 2× \| \*\*(PASS|MISS)\*\* \|/);
  });

  it('leaves no keys behind in Redis', async () => {
    const redis = testConnection();
    try {
      const left: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', 'bench-*', 'COUNT', 1000);
        cursor = next;
        left.push(...keys);
      } while (cursor !== '0');
      expect(left).toEqual([]);
    } finally {
      await redis.quit();
    }
  });
});
