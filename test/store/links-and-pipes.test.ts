/**
 * Issue 25, findings 3, 4, 6, 7 and 8: links planted in a run, done records naming outputs
 * elsewhere, named pipes in place of outputs, and records without a digest. Every read and write
 * under a run stays inside its real path; only regular files are read (a pipe never blocks a
 * command or the agent); a record that cannot vouch for its output is damage.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPayload } from '../../orchestrator/agent/payload.js';
import { LogSink } from '../../orchestrator/log-sink.js';
import { jobId } from '../../orchestrator/plan/stages.js';
import { repairRun } from '../../orchestrator/run/repair.js';
import { IntegrityError, scanRun } from '../../orchestrator/store/integrity.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { fakeRun } from '../dashboard/fixture.js';
import { REPO } from '../helpers/harness.js';
import { ipa, STACK_FRAME } from '../safety/cli-process.js';

/** A finished fake run and a folder outside it. */
function finished(id: string) {
  const run = fakeRun({ id });
  run.stepUntil(() => false);
  const outside = mkdtempSync(join(tmpdir(), 'ipa-outside-'));
  return { run, store: run.store, outside };
}

const job = (store: RunStore, round: number, stage: string, shard = 0) =>
  jobId({ runId: store.id, round, stage: stage as never, shard });
const recordFile = (store: RunStore, id: string) => store.abs(`jobs/${id}.json`);
const editRecord = (store: RunStore, id: string, edit: (rec: any) => void) => {
  const rec = JSON.parse(readFileSync(recordFile(store, id), 'utf8'));
  edit(rec);
  writeFileSync(recordFile(store, id), JSON.stringify(rec));
};
const trainPayload = (store: RunStore) => () =>
  buildPayload(store, store.recipe(), { runId: store.id, runDir: store.dir, round: 2, stage: 'train', shard: 0 }, 1, 1);

/** `mkfifo`: a named pipe that no one writes to, so a plain open or read of it waits forever. */
function fifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path}: ${r.stderr}`);
}

/** Runs `code` (ES module text, imports relative to the repo) in a child Node, killed after `timeoutMs`: a blocked read cannot hang the test. */
function inChild(code: string, timeoutMs = 30_000): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: REPO });
    let out = '';
    c.stdout.on('data', (b) => (out += String(b)));
    c.stderr.on('data', (b) => (out += String(b)));
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      c.kill('SIGKILL');
    }, timeoutMs);
    c.once('exit', (code) => {
      clearTimeout(t);
      res({ code, out, timedOut });
    });
  });
}

describe('a link planted in a run leads nothing out of it (finding 3)', () => {
  it('ipa verify names the link, not the files behind it, and resume refuses before anything moves', async () => {
    const { store, outside } = finished('link-pairs-0001');
    // The attacker's folder: files and a subfolder that a repair must never move.
    writeFileSync(join(outside, 'precious.jsonl'), '{"keep": 1}\n');
    mkdirSync(join(outside, 'sub'));
    writeFileSync(join(outside, 'sub', 'notes.txt'), 'mine\n');
    renameSync(store.abs('round-1/pairs'), store.abs('round-1/pairs-real'));
    symlinkSync(outside, store.abs('round-1/pairs'));

    const v = await ipa(['verify', store.dir, '--json']);
    expect(v.code).toBe(3);
    const damage = JSON.parse(v.stdout).damage as Array<{ kind: string; file: string; reason: string }>;
    expect(damage).toContainEqual(
      expect.objectContaining({
        kind: 'outside-link',
        file: store.abs('round-1/pairs'),
        reason: expect.stringContaining(`symbolic link to ${outside}`),
      }),
    );
    // Nothing behind the link is listed as the run's (stray) file.
    expect(damage.filter((d) => d.file.startsWith(outside) || d.file.includes('precious'))).toEqual([]);

    expect(() => repairRun(store)).toThrow(
      /symbolic link.* leading out of the run directory, so it is not repaired; nothing was moved/,
    );
    expect(readdirSync(outside).sort()).toEqual(['precious.jsonl', 'sub']);
    expect(readFileSync(join(outside, 'sub', 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(existsSync(store.abs('quarantine'))).toBe(false);
  }, 60_000);
});

describe('a done record naming an output outside the run is refused (finding 4)', () => {
  it('ipa export refuses it and training would not read it; ipa verify reports it', async () => {
    const { run, store, outside } = finished('outside-out-0001');
    const id = job(store, 1, 'pair');
    // A copy of the shard outside the run, sha256 and all (what `cp -r` of a run leaves in its records).
    const copy = join(outside, 'shard-000.jsonl');
    cpSync(store.abs('round-1/pairs/shard-000.jsonl'), copy);
    editRecord(store, id, (rec) => (rec.outputs.pairs.path = copy));

    const out = join(run.root, 'export.jsonl');
    const e = await ipa(['export', store.dir, '--format', 'jsonl', '--out', out]);
    expect(e.code, e.stderr).toBe(3);
    expect(e.stderr).toContain(`${copy}: resolves to ${copy}, outside the run directory`);
    expect(existsSync(out)).toBe(false);

    expect(trainPayload(store)).toThrow(IntegrityError);
    expect(trainPayload(store)).toThrow(/outside the run directory/);
    expect(scanRun(store, { folders: false })).toContainEqual(
      expect.objectContaining({ kind: 'outside-run', job: id }),
    );
  }, 60_000);
});

describe('a named pipe in place of an output is damage, never read (finding 6)', () => {
  it('ipa verify, ipa status and ipa export answer at once (exit 3, naming the pipe), no stack trace', async () => {
    const { run, store } = finished('fifo-0001');
    const pairs = store.abs('round-1/pairs/shard-001.jsonl');
    renameSync(pairs, `${pairs}.real`);
    fifo(pairs);
    for (const argv of [
      ['verify', store.dir],
      ['status', store.dir],
      ['export', store.dir, '--format', 'jsonl', '--out', join(run.root, 'export.jsonl')],
    ]) {
      const started = Date.now();
      const r = await ipa(argv, {}, 30_000);
      expect(r.code, `${argv[0]} (killed after 30 s when null): ${r.stderr}`).toBe(3);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(r.stdout + r.stderr).toMatch(/named pipe \(FIFO\)/);
      expect(r.stdout + r.stderr).not.toMatch(STACK_FRAME);
    }
  }, 120_000);

  it("the agent's input check refuses a pipe without blocking (a child process, killed if it hangs)", async () => {
    const { store } = finished('fifo-agent-0001');
    const pairs = store.abs('round-1/pairs/shard-000.jsonl');
    renameSync(pairs, `${pairs}.real`);
    fifo(pairs);
    const r = await inChild(`
      import { buildPayload } from './orchestrator/agent/payload.ts';
      import { RunStore } from './orchestrator/store/run-store.ts';
      const store = new RunStore(${JSON.stringify(store.dir)});
      try {
        buildPayload(store, store.recipe(), { runId: store.id, runDir: store.dir, round: 2, stage: 'train', shard: 0 }, 1, 1);
        console.log('BUILT');
      } catch (err) {
        console.log('REFUSED ' + err.name + ': ' + err.message);
      }
    `);
    expect(r.timedOut, r.out).toBe(false);
    expect(r.out).toMatch(
      /REFUSED IntegrityError: .*shard-000\.jsonl: output "pairs" of fifo-agent-0001\.r1\.pair\.s000 is a named pipe \(FIFO\), not a file or folder; it was not read/,
    );
  }, 60_000);

  it('a pipe in place of a done record or an eval file is reported, and every reader goes on', async () => {
    const { store } = finished('fifo-record-0001');
    const rec = recordFile(store, job(store, 1, 'sample', 1));
    renameSync(rec, `${rec}.real`);
    fifo(rec);
    renameSync(store.abs('eval/round-1.json'), store.abs('eval/round-1.json.real'));
    fifo(store.abs('eval/round-1.json'));
    const r = await ipa(['status', store.dir, '--json'], {}, 30_000);
    expect(r.code, r.stderr).toBe(3);
    const damage = JSON.parse(r.stdout).damage as Array<{ kind: string; file: string; reason: string }>;
    expect(damage).toContainEqual(
      expect.objectContaining({
        kind: 'unreadable-record',
        file: rec,
        reason: expect.stringMatching(/named pipe \(FIFO\), not a regular file; it was not read/),
      }),
    );
    expect(damage).toContainEqual(
      expect.objectContaining({ kind: 'special-file', file: store.abs('eval/round-1.json') }),
    );
  }, 60_000);
});

describe('links named logs, jobs, quarantine or tracking write nothing outside the run (finding 7)', () => {
  it('ipa verify lists each link; the agent writes no log, attempt or record through them; resume refuses', async () => {
    const { store, outside } = finished('link-dirs-0001');
    const targets: Record<string, string> = {};
    for (const name of ['logs', 'quarantine', 'tracking']) {
      targets[name] = join(outside, name);
      mkdirSync(targets[name]);
      if (existsSync(store.abs(name))) renameSync(store.abs(name), store.abs(`${name}-real`));
      symlinkSync(targets[name], store.abs(name));
    }
    const damage = scanRun(store, { folders: false });
    for (const name of ['logs', 'quarantine', 'tracking'])
      expect(damage).toContainEqual(expect.objectContaining({ kind: 'outside-link', file: store.abs(name) }));

    // What the agent does around a job: its log lines, the orchestrator's lines about the run.
    store.appendLog(job(store, 1, 'sample'), 'a line that must stay in the run');
    const sink = new LogSink();
    sink.configureConsole({ writeLine: () => undefined });
    sink.routeRun(store.id, store.dir);
    sink.write(JSON.stringify({ run: store.id, msg: 'about the run' }));
    expect(readdirSync(targets.logs)).toEqual([]);

    // A tampered shard makes resume want to quarantine: it refuses, and nothing lands outside.
    writeFileSync(store.abs('round-1/pairs/shard-000.jsonl'), '{"id": "tampered"}\n');
    expect(() => repairRun(store)).toThrow(
      /leading out of the run directory, so it is not repaired; nothing was moved/,
    );
    expect(readdirSync(targets.quarantine)).toEqual([]);
    expect(existsSync(recordFile(store, job(store, 1, 'pair')))).toBe(true);
  }, 60_000);

  it('a jobs link: no record is read from or written to the folder behind it', () => {
    const { store, outside } = finished('link-jobs-0001');
    const real = store.abs('jobs-real');
    renameSync(store.abs('jobs'), real);
    cpSync(real, outside, { recursive: true });
    symlinkSync(outside, store.abs('jobs'));
    const before = readdirSync(outside).sort();
    // The records behind the link are not the run's: nothing counts as done.
    expect(store.doneIds().size).toBe(0);
    const id = job(store, 1, 'sample');
    expect(() => store.recordAttempt(id, { attempt: 9, worker: 'w', started_at: new Date().toISOString() })).toThrow(
      /jobs: resolves to .*outside the run directory/,
    );
    expect(() =>
      store.writeDone({ ...JSON.parse(readFileSync(join(real, `${id}.json`), 'utf8')), job_id: `${id}-new` }),
    ).toThrow(/outside the run directory/);
    expect(readdirSync(outside).sort()).toEqual(before);
    expect(scanRun(store, { folders: false })).toContainEqual(
      expect.objectContaining({ kind: 'outside-link', file: store.abs('jobs') }),
    );
  });
});

describe('a done record without a sha256 is damaged (finding 8)', () => {
  it('a tampered shard whose record lost its sha256 is reported and never used', () => {
    const { store } = finished('no-digest-0001');
    const id = job(store, 1, 'pair');
    editRecord(store, id, (rec) => delete rec.outputs.pairs.sha256);
    writeFileSync(store.abs('round-1/pairs/shard-000.jsonl'), '{"id": "tampered"}\n');
    expect(scanRun(store, { folders: false })).toContainEqual(
      expect.objectContaining({
        kind: 'no-digest',
        job: id,
        reason: expect.stringMatching(
          /holds no sha256 for output "pairs", so the output cannot be checked and is not trusted/,
        ),
      }),
    );
    expect(store.verifiedDoneRecord(id)).toBeUndefined();
    expect(trainPayload(store)).toThrow(/holds no sha256/);
  });
});
