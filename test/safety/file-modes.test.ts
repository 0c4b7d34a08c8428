/**
 * Run directories are not world-writable, whatever the umask: the run store and the Python
 * stages choose their modes, so a permissive umask (0, as in some containers) grants no one else
 * write access to a run's data. Checked on a real run directory written by `prepare`.
 */
import { cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PythonProcess } from '../../orchestrator/bridge/python-process.js';
import { runPrepare } from '../bad-input/prepare-stage.js';
import { REPO } from '../helpers/harness.js';

function walk(dir: string, out: string[] = []): string[] {
  out.push(dir);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

describe('file modes of a run directory', () => {
  let work: string;
  let py: PythonProcess | undefined;
  let saved: number;
  beforeAll(() => {
    saved = process.umask();
  });
  afterEach(async () => {
    await py?.close({ graceMs: 5000 });
    py = undefined;
    process.umask(saved);
    rmSync(work, { recursive: true, force: true });
  });

  it.each(['022', '000'])('nothing under runs/<id>/ is world-writable with umask %s', async (umask) => {
    process.umask(parseInt(umask, 8));
    work = mkdtempSync(join(tmpdir(), 'ipa-modes-'));
    // The Python process inherits this umask, as a worker started from such a shell would.
    py = await PythonProcess.start({});
    const png = readFileSync(join(REPO, 'test', 'fixtures', 'bad-inputs', 'images', 'good.png'));
    cpSync(join(REPO, 'test', 'fixtures', 'bad-inputs', 'images', 'good.png'), join(work, 'good.png'));
    // An embedded image makes prepare create data/images/ and write a file there.
    const rows = [
      { id: 'file', images: ['good.png'], instruction: 'What colour?', reference: 'red' },
      { id: 'embedded', images: [`data:image/png;base64,${png.toString('base64')}`], instruction: 'What colour?', reference: 'red' },
    ];
    writeFileSync(join(work, 'rows.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const { store, seeds } = await runPrepare(py, work, 'modes', [{ path: 'rows.jsonl' }]);
    expect(seeds).toHaveLength(2);
    store.recordAttempt('probe', { attempt: 1, worker: 'test', started_at: new Date().toISOString() });
    store.appendLog('probe', 'a log line');
    const writable = walk(store.dir)
      .map((p) => ({ p: p.slice(store.dir.length) || '/', mode: lstatSync(p).mode & 0o777 }))
      .filter((x) => x.mode & 0o002)
      .map((x) => `${x.p} ${x.mode.toString(8)}`);
    expect(writable).toEqual([]);
  });
});
