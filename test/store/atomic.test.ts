import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { atomicWrite, atomicWriteJsonl, readJsonl } from '../../orchestrator/store/atomic.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ipa-atomic-'));

describe('atomic writes', () => {
  it('a crash between write and rename leaves the old file intact and no visible partial file', () => {
    const dir = tmp();
    const p = join(dir, 'shard-000.jsonl');
    writeFileSync(p, 'old\n');
    expect(() =>
      atomicWrite(p, 'new content\n', () => {
        throw new Error('simulated crash before rename');
      }),
    ).toThrow('simulated crash');
    expect(readFileSync(p, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['shard-000.jsonl']);
  });

  it('writes JSONL with row count and checksum, readable back', () => {
    const dir = tmp();
    const rec = atomicWriteJsonl(join(dir, 'a.jsonl'), [{ a: 1 }, { b: 'é' }]);
    expect(rec.rows).toBe(2);
    expect(rec.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readJsonl(join(dir, 'a.jsonl'))).toEqual([{ a: 1 }, { b: 'é' }]);
  });

  it('files are not world-writable', () => {
    const dir = tmp();
    atomicWrite(join(dir, 'x', 'f.json'), '{}');
    expect(statSync(join(dir, 'x', 'f.json')).mode & 0o002).toBe(0);
    expect(statSync(join(dir, 'x')).mode & 0o002).toBe(0);
  });
});
