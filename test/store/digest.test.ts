/**
 * Folder digests are the same in Node and Python (`dir_record` in training/trainable.py writes
 * them into done records; the agent checks them in Node): path order by components, NUL after
 * each relative path. A link inside a folder is refused, and the cache follows file changes.
 */
import { mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fileDigest, FolderEntryError, folderDigest } from '../../orchestrator/store/digest.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const PY = process.env.IPA_PYTHON ?? join(REPO, '.venv', 'bin', 'python');

/** Python's digests of several folders in one process (importing the module costs seconds). */
function pythonDigests(dirs: string[]): string[] {
  const code =
    'import json,sys; from pathlib import Path; from ipa_worker.training.trainable import dir_record; print(json.dumps([dir_record(Path(d))["sha256"] for d in sys.argv[1:]]))';
  return JSON.parse(
    execFileSync(PY, ['-c', code, ...dirs], {
      env: { ...process.env, PYTHONPATH: join(REPO, 'workers') },
      encoding: 'utf8',
    }),
  );
}

function folder(): string {
  const d = mkdtempSync(join(tmpdir(), 'ipa-digest-'));
  // Names that sort differently by string and by component: "a-c" < "a/b" as strings.
  mkdirSync(join(d, 'a', 'deep'), { recursive: true });
  writeFileSync(join(d, 'a', 'b'), 'bee');
  writeFileSync(join(d, 'a-c'), 'sea');
  writeFileSync(join(d, 'a', 'deep', 'z.bin'), Buffer.from([0, 1, 2, 255]));
  writeFileSync(join(d, 'B.json'), '{}');
  writeFileSync(join(d, 'empty'), '');
  return d;
}

describe('folder digests', () => {
  it('equal the Python dir_record digest, change with a file, are cached while nothing changes, and refuse a link inside', () => {
    const d = folder();
    const first = folderDigest(d);
    expect(folderDigest(d)).toBe(first);
    const changed = folder();
    writeFileSync(join(changed, 'a', 'b'), 'bea');
    expect(folderDigest(changed)).not.toBe(first);
    expect(pythonDigests([d, changed])).toEqual([first, folderDigest(changed, { cache: false })]);
    // Same size: a different mtime is what the cache sees.
    writeFileSync(join(d, 'a', 'b'), 'bea');
    utimesSync(join(d, 'a', 'b'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    expect(folderDigest(d)).toBe(folderDigest(changed));
    symlinkSync('/etc/hostname', join(d, 'link'));
    expect(() => folderDigest(d)).toThrow(FolderEntryError);
  });

  it('file digests are sha256 of the bytes', () => {
    const d = folder();
    expect(fileDigest(join(d, 'empty'))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
