/**
 * The chaos run's truncation fault (scripts/chaos/truncate.ts): which file it cuts, and that what
 * it leaves is what a cut write leaves. Whether the run then finds and recomputes it is the
 * reduced chaos run's part (chaos.test.ts).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prng } from '../../scripts/chaos/schedule.js';
import {
  consumerOf,
  pickTruncation,
  plantHalfWritten,
  shardJobKey,
  truncateInPlace,
  type ShardJob,
} from '../../scripts/chaos/truncate.js';

const STAGES = ['sample', 'verify', 'pair'] as const;
const job = (stage: ShardJob['stage'], shard: number, outputs?: string[]): ShardJob => ({
  stage,
  round: 1,
  shard,
  ...(outputs ? { outputs } : {}),
});

describe('truncation target', () => {
  it("reads a shard output with the next stage of its shard, and the last stage with the round's training", () => {
    expect(consumerOf({ stage: 'sample', round: 2, shard: 3 }, STAGES)).toEqual({
      stage: 'verify',
      round: 2,
      shard: 3,
    });
    expect(consumerOf({ stage: 'pair', round: 2, shard: 3 }, STAGES)).toEqual({ stage: 'train', round: 2, shard: 0 });
  });

  it('cuts a finished output whose reader has not finished, and plants half a file for a job whose predecessor finished', () => {
    const jobs = [
      job('sample', 0, ['/r/s0']),
      job('verify', 0, ['/r/v0']),
      job('pair', 0),
      job('sample', 1, ['/r/s1']),
      job('verify', 1),
      job('pair', 1),
    ];
    const finished = new Set(jobs.filter((j) => j.outputs).map(shardJobKey));
    for (let seed = 0; seed < 20; seed++) {
      const p = pickTruncation(jobs, finished, STAGES, prng(seed));
      // s0 was read by verify 0, which finished: only v0 (pair 0 pending) and s1 (verify 1 pending) qualify.
      expect(['/r/v0', '/r/s1']).toContain(p.afterRecord);
      expect(p.consumerPending).toBe(true);
      expect([
        { stage: 'pair', round: 1, shard: 0 },
        { stage: 'verify', round: 1, shard: 1 },
      ]).toContainEqual(p.beforeRecord);
    }
  });

  it('falls back to an output already read when every reader finished, and has nothing to cut before any job finished', () => {
    const all = [job('sample', 0, ['/r/s0']), job('verify', 0, ['/r/v0']), job('pair', 0, ['/r/p0'])];
    const finished = new Set([...all.map(shardJobKey), shardJobKey({ stage: 'train', round: 1, shard: 0 })]);
    const p = pickTruncation(all, finished, STAGES, prng(1));
    expect(p.consumerPending).toBe(false);
    expect(p.beforeRecord).toBeUndefined();
    const none = pickTruncation([job('sample', 0), job('verify', 0)], new Set(), STAGES, prng(1));
    expect(none.afterRecord).toBeUndefined();
    expect(none.beforeRecord).toEqual({ stage: 'sample', round: 1, shard: 0 });
  });
});

describe('truncated files', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('cuts a file to half its bytes in place (here mid-line; the sha256 check, not a parse error, is what must catch it)', () => {
    dir = mkdtempSync(join(tmpdir(), 'ipa-trunc-'));
    const f = join(dir, 'shard-000.jsonl');
    const text = '{"a": 1, "b": "x"}\n{"a": 2, "b": "yyyyyyyy"}\n';
    writeFileSync(f, text);
    expect(truncateInPlace(f)).toBe(Math.floor(text.length / 2));
    expect(readFileSync(f, 'utf8')).toBe(text.slice(0, Math.floor(text.length / 2)));
    expect(() =>
      readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ).toThrow();
  });

  it("leaves half a file at an unfinished job's output path and a half-written temp file beside it", () => {
    dir = mkdtempSync(join(tmpdir(), 'ipa-trunc-'));
    mkdirSync(join(dir, 'round-1', 'verdicts'), { recursive: true });
    const like = join(dir, 'like.jsonl');
    writeFileSync(like, '0123456789');
    const files = plantHalfWritten(dir, { stage: 'verify', round: 1, shard: 2 }, like);
    expect(files[0]).toBe(join(dir, 'round-1', 'verdicts', 'shard-002.jsonl'));
    expect(readFileSync(files[0], 'utf8')).toBe('01234');
    const temps = readdirSync(join(dir, 'round-1', 'verdicts')).filter(
      (f) => f.startsWith('.shard-002.jsonl.') && f.endsWith('.tmp'),
    );
    expect(temps).toHaveLength(1);
    expect(readFileSync(join(dir, 'round-1', 'verdicts', temps[0]), 'utf8')).toBe('01234');
  });
});
