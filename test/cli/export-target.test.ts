/**
 * Issue 25, finding 2: `ipa export` never destroys what is at --out. An existing JSONL/Parquet
 * file, a folder of other files (`--out .`), another run's export: refused with what is there and
 * what to pass (exit 3), untouched; --force replaces; an earlier export of the same run (its marker
 * file) is replaced without --force. Real processes, a real Python export.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXPORT_MARKER, exportTargetProblem } from '../../orchestrator/cli/export-target.js';
import { atomicWriteJsonl } from '../../orchestrator/store/atomic.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { fakeRun } from '../dashboard/fixture.js';
import { REPO } from '../helpers/harness.js';
import { ipa } from '../safety/cli-process.js';

const IMAGE = join(REPO, 'test', 'fixtures', 'bad-inputs', 'images', 'good.png');

/** Replaces the fake run's pair shards with real pair rows (TRL's format), records updated to match. */
function realPairs(store: RunStore): void {
  for (const rec of store.doneRecords().filter((r) => r.stage === 'pair')) {
    const rows = Array.from({ length: 2 }, (_, i) => ({
      id: `${rec.job_id}-${i}`,
      seed_id: `seed-${rec.shard}-${i}`,
      round: rec.round,
      images: [IMAGE],
      prompt: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What colour is it?' }] }],
      chosen: [{ role: 'assistant', content: [{ type: 'text', text: 'blue' }] }],
      rejected: [{ role: 'assistant', content: [{ type: 'text', text: 'a green circle' }] }],
    }));
    const out = atomicWriteJsonl(rec.outputs.pairs.path, rows);
    store.writeDone({ ...rec, outputs: { ...rec.outputs, pairs: out } });
  }
}

function run(id: string) {
  const r = fakeRun({ id });
  r.stepUntil((s) => s.doneIds().has(`${s.id}.r1.pair.s002`));
  realPairs(r.store);
  return r;
}

const noTemps = (dir: string) => readdirSync(dir).filter((f) => /\.tmp/.test(f));

describe('ipa export never destroys what is at --out', () => {
  it('an existing JSONL file is refused untouched; --force replaces it', async () => {
    const { store, root } = run('export-file-0001');
    const out = join(root, 'pairs.jsonl');
    writeFileSync(out, 'my own notes\n');
    const r = await ipa(['export', store.dir, '--format', 'jsonl', '--out', out]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(
      `--out ${out} already exists (13 bytes); nothing was written. Pass --force to replace it, or choose a new --out`,
    );
    expect(readFileSync(out, 'utf8')).toBe('my own notes\n');

    const forced = await ipa(['export', store.dir, '--format', 'jsonl', '--out', out, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n').filter(Boolean)).toHaveLength(6);
    expect(noTemps(root)).toEqual([]);
  }, 60_000);

  it('a folder of other files (--out DIR/.) is refused with its entries; nothing in it changes', async () => {
    const { store } = run('export-dir-0001');
    const dir = mkdtempSync(join(tmpdir(), 'ipa-export-home-'));
    writeFileSync(join(dir, 'thesis.tex'), 'years of work\n');
    mkdirSync(join(dir, 'data'));
    const r = await ipa(['export', store.dir, '--format', 'hf', '--out', `${dir}/.`]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(
      `--out ${dir} is not empty (2 entries: "data", "thesis.tex") and holds no export of run export-dir-0001 (no ${EXPORT_MARKER}); nothing was written. Pass --force to replace everything in it, or choose a new or empty folder`,
    );
    expect(readdirSync(dir).sort()).toEqual(['data', 'thesis.tex']);
    expect(readFileSync(join(dir, 'thesis.tex'), 'utf8')).toBe('years of work\n');
  }, 60_000);

  it('an hf export marks its folder: the same run exports there again, another run is refused', async () => {
    const a = run('export-hf-0001');
    const out = join(a.root, 'hf-pairs');
    const r = await ipa(['export', a.store.dir, '--format', 'hf', '--out', out], {}, 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, EXPORT_MARKER), 'utf8'))).toMatchObject({
      run_id: 'export-hf-0001',
      kind: 'pairs',
      rows: 6,
    });
    expect(noTemps(a.root)).toEqual([]);
    // The same run may export there again (the Python side replaces the folder by rename: test_export.py).
    expect(exportTargetProblem(out, 'hf', 'export-hf-0001', false)).toBeUndefined();
    // Another run into that folder: refused without running the export (no Python needed to say no).
    expect(exportTargetProblem(out, 'hf', 'other-run-0002', false)).toBe(
      `--out ${out} holds an export of another run (export-hf-0001); nothing was written. Pass --force to replace everything in it, or choose a new or empty folder`,
    );
    expect(exportTargetProblem(out, 'hf', 'other-run-0002', true)).toBeUndefined();
    expect(exportTargetProblem(join(out, EXPORT_MARKER), 'hf', 'export-hf-0001', true)).toMatch(
      /is a file, not a folder/,
    );
    expect(exportTargetProblem(out, 'parquet', 'export-hf-0001', true)).toMatch(
      /is a folder, not a file .*pairs\.parquet/,
    );
    expect(existsSync(join(a.root, 'fresh'))).toBe(false);
    expect(exportTargetProblem(join(a.root, 'fresh'), 'hf', 'export-hf-0001', false)).toBeUndefined();
  }, 240_000);
});
