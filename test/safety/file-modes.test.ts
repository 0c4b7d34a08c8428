/**
 * Run directories follow the process umask (orchestrator/file-modes.ts): under the usual 022 a
 * teammate on a shared filesystem reads a run, and nothing is world-writable whatever the umask
 * (0, as in some containers, grants no one else write access to a run's data). Checked on a real
 * run directory written by `prepare` (Python) and the run store and logs (Node).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PythonProcess } from '../../orchestrator/bridge/python-process.js';
import { logToRunDir, rootLogger } from '../../orchestrator/log.js';
import { jobId } from '../../orchestrator/plan/stages.js';
import { registerRun, registryFile } from '../../orchestrator/store/run-registry.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { runPrepare } from '../bad-input/prepare-stage.js';
import { REPO } from '../helpers/harness.js';

/** A user who is neither the owner nor in its group (`nobody`). */
const TEAMMATE = 65534;

/**
 * The files `teammate` cannot read and the folders they cannot list, among `paths`: tried for real
 * as that user where this process may switch users (root, as in the test containers), else read
 * from the mode bits for "others".
 */
export function unreadableByTeammate(paths: string[]): string[] {
  if (process.getuid?.() === 0) {
    const script =
      'for p in "$@"; do if [ -d "$p" ]; then ls "$p" >/dev/null 2>&1 || echo "$p"; else cat "$p" >/dev/null 2>&1 || echo "$p"; fi; done';
    const r = spawnSync(
      'setpriv',
      [`--reuid=${TEAMMATE}`, `--regid=${TEAMMATE}`, '--clear-groups', 'sh', '-c', script, 'sh', ...paths],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`setpriv failed: ${r.stderr || r.error}`);
    return r.stdout.split('\n').filter(Boolean);
  }
  return paths.filter((p) => {
    const m = lstatSync(p);
    return (m.mode & (m.isDirectory() ? 0o005 : 0o004)) !== (m.isDirectory() ? 0o005 : 0o004);
  });
}

/** A run directory as `prepare` and the run store leave it: seeds, rejected rows, an image, a done record, an attempt line, logs. */
async function writtenRun(py: PythonProcess, work: string): Promise<RunStore> {
  const png = readFileSync(join(REPO, 'test', 'fixtures', 'bad-inputs', 'images', 'good.png'));
  cpSync(join(REPO, 'test', 'fixtures', 'bad-inputs', 'images', 'good.png'), join(work, 'good.png'));
  // An embedded image makes prepare create data/images/ and write a file there.
  const rows = [
    { id: 'file', images: ['good.png'], instruction: 'What colour?', reference: 'red' },
    {
      id: 'embedded',
      images: [`data:image/png;base64,${png.toString('base64')}`],
      instruction: 'What colour?',
      reference: 'red',
    },
  ];
  writeFileSync(join(work, 'rows.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const { store, seeds } = await runPrepare(py, work, 'modes', [{ path: 'rows.jsonl' }]);
  expect(seeds).toHaveLength(2);
  const probe = jobId({ runId: store.id, round: 0, stage: 'prepare', shard: 0 });
  store.recordAttempt(probe, { attempt: 1, worker: 'test', started_at: new Date().toISOString() });
  store.appendLog(probe, 'a log line');
  const now = new Date().toISOString();
  store.writeDone({
    job_id: probe,
    stage: 'prepare',
    round: 0,
    shard: 0,
    outputs: {},
    metrics: {},
    failed_items: [],
    attempts: 1,
    started_at: now,
    finished_at: now,
    duration_ms: 0,
    worker: 'test',
  });
  logToRunDir(store.id, store.dir);
  rootLogger.info({ run: store.id }, 'a line about the run');
  return store;
}

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
    const store = await writtenRun(py, work);
    const writable = walk(store.dir)
      .map((p) => ({ p: p.slice(store.dir.length) || '/', mode: lstatSync(p).mode & 0o777 }))
      .filter((x) => x.mode & 0o002)
      .map((x) => `${x.p} ${x.mode.toString(8)}`);
    expect(writable).toEqual([]);
  });

  it('with umask 022 a teammate (another user, not in the group) reads every file of a run: 0644 files, 0755 folders', async () => {
    process.umask(0o022);
    work = mkdtempSync(join(tmpdir(), 'ipa-modes-'));
    chmodSync(work, 0o755); // the shared folder the team keeps runs in
    py = await PythonProcess.start({});
    const store = await writtenRun(py, work);
    const paths = walk(store.dir);
    // Node and Python writers both: run.json, recipe.*, jobs/, logs/ and data/ (seeds, images).
    for (const f of [
      'run.json',
      'recipe.yaml',
      'recipe.json',
      'data/seeds.jsonl',
      'data/rejected_seeds.jsonl',
      'logs/orchestrator.jsonl',
    ])
      expect(paths).toContain(join(store.dir, f));
    expect(paths.some((p) => p.includes('/data/images/'))).toBe(true);
    expect(unreadableByTeammate(paths)).toEqual([]);
    const modes = new Set(
      paths.map((p) => `${lstatSync(p).isDirectory() ? 'dir' : 'file'} ${(lstatSync(p).mode & 0o777).toString(8)}`),
    );
    expect([...modes].sort()).toEqual(['dir 755', 'file 644']);
  });

  it("the deliberate exception: the runs registry a worker trusts stays its owner's alone, whatever the umask", () => {
    process.umask(0o002);
    work = mkdtempSync(join(tmpdir(), 'ipa-modes-'));
    const env = { IPA_STATE_DIR: join(work, 'state', 'ipa') };
    expect(
      registerRun({ id: 'r', dir: join(work, 'runs', 'r'), created_at: new Date().toISOString() }, env),
    ).toBeUndefined();
    expect((lstatSync(registryFile(env)).mode & 0o777).toString(8)).toBe('600');
    expect((lstatSync(env.IPA_STATE_DIR).mode & 0o777).toString(8)).toBe('700');
  });
});
