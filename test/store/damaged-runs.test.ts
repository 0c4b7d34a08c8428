/**
 * Issue 14, findings 3 and 4: a truncated run file, a tampered output or a stray shard file.
 * Corruption damages its run only (list shows the others; status and resume exit 3 naming the
 * file, never a stack trace); tampering is found (status, verify) and never used (the payload
 * check, resume recomputes, export refuses it and ignores files no record names).
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { buildPayload } from '../../orchestrator/agent/payload.js';
import { jobId } from '../../orchestrator/plan/stages.js';
import { QueueSet } from '../../orchestrator/queue/queues.js';
import { resumeRun } from '../../orchestrator/run/resume.js';
import { IntegrityError, scanRun } from '../../orchestrator/store/integrity.js';
import { fakeRun } from '../dashboard/fixture.js';
import { deletePrefix, redisUrl, testConnection, uniquePrefix } from '../helpers/redis.js';
import { ipa, STACK_FRAME } from '../safety/cli-process.js';

const truncate = (path: string) => writeFileSync(path, readFileSync(path, 'utf8').slice(0, 25));

describe('a truncated run file damages its run only', () => {
  it('ipa list shows every run and marks the damaged one; status and resume of it exit 3 naming the file', async () => {
    const good = fakeRun({ id: 'good-0001' });
    good.stepUntil(() => false);
    const bad = fakeRun({ id: 'bad-0002' });
    // Both under one runs directory: the bad run's folder moves beside the good one.
    const runsDir = good.runsDir;
    const { cpSync } = await import('node:fs');
    cpSync(bad.store.dir, `${runsDir}/bad-0002`, { recursive: true });
    truncate(`${runsDir}/bad-0002/run.json`);

    // A registry of its own: `ipa list` also shows the runs other tests registered in theirs.
    const registry = { IPA_STATE_DIR: mkdtempSync(join(tmpdir(), 'ipa-state-')) };
    const list = await ipa(['list', '--runs-dir', runsDir], registry);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^\s*good-0001\s+completed/m);
    expect(list.stdout).toMatch(/^\s*bad-0002\s+damaged\s+.*bad-0002\/run\.json: truncated JSON/m);
    const listJson = JSON.parse((await ipa(['list', '--runs-dir', runsDir, '--json'], registry)).stdout);
    expect(listJson.map((r: { id: string }) => r.id).sort()).toEqual(['bad-0002', 'good-0001']);
    rmSync(registry.IPA_STATE_DIR, { recursive: true, force: true });

    for (const cmd of ['status', 'resume']) {
      const r = await ipa([cmd, 'bad-0002', '--runs-dir', runsDir, '--redis-url', redisUrl()]);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(
        new RegExp(`^ipa ${cmd}: .*bad-0002/run\\.json: truncated JSON .*\\(restore the file from a backup`),
      );
      expect(r.stderr + r.stdout).not.toMatch(STACK_FRAME);
      expect(r.stderr).not.toMatch(/SyntaxError/);
    }

    cpSync(bad.store.dir, `${runsDir}/bad-recipe-0003`, { recursive: true });
    truncate(`${runsDir}/bad-recipe-0003/recipe.json`);
    const r = await ipa(['status', 'bad-recipe-0003', '--runs-dir', runsDir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/bad-recipe-0003\/recipe\.json: truncated JSON/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  }, 120_000);
});

describe('tampered and stray files are found and never used', () => {
  /** A run finished through round 1 with an extra row in one pair shard and a shard file no record names. */
  function tampered() {
    const run = fakeRun({ id: 'tamper-0001' });
    run.stepUntil(() => false);
    const pairs = run.store.abs('round-1/pairs/shard-000.jsonl');
    const before = run.store.doneRecord(jobId({ runId: run.store.id, round: 1, stage: 'pair', shard: 0 }))!.outputs
      .pairs.sha256!;
    appendFileSync(pairs, JSON.stringify({ id: 'injected', chosen: 'evil' }) + '\n');
    writeFileSync(run.store.abs('round-1/pairs/shard-007.jsonl'), JSON.stringify({ id: 'stray' }) + '\n');
    return { run, pairs, before };
  }

  it('ipa status and ipa verify name the file, both hashes and what to do; exit 3', async () => {
    const { run, pairs, before } = tampered();
    const status = await ipa(['status', run.store.dir]);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain('damaged: 2 problems (1 hash mismatch, 1 stray file)');
    expect(status.stdout).toContain(`hash mismatch: ${pairs}`);
    expect(status.stdout).toContain(`sha256 in the done record ${before}`);
    expect(status.stdout).toMatch(/stray file: .*round-1\/pairs\/shard-007\.jsonl/);
    expect(status.stdout).toMatch(
      /`ipa run \S*tamper-0001` computes the damaged outputs, and what was made from them, again \(for workers on a shared Redis: `ipa resume tamper-0001 --redis-url URL`\)/,
    );

    const verify = await ipa(['verify', run.store.dir, '--json']);
    expect(verify.code).toBe(3);
    const v = JSON.parse(verify.stdout);
    expect(v.ok).toBe(false);
    expect(v.damage.map((d: { kind: string }) => d.kind).sort()).toEqual(['hash-mismatch', 'stray-file']);
    const mismatch = v.damage.find((d: { kind: string }) => d.kind === 'hash-mismatch');
    expect(mismatch).toMatchObject({ file: pairs, job: `${run.store.id}.r1.pair.s000`, expected: before });
    expect(mismatch.actual).toMatch(/^[0-9a-f]{64}$/);
    expect(mismatch.actual).not.toBe(before);

    const clean = fakeRun({ id: 'clean-0001' });
    clean.stepUntil(() => false);
    const ok = await ipa(['verify', clean.store.dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('clean-0001: ok, every done record and output is intact');
  }, 120_000);

  it('training would not read the tampered file: the payload check fails the job with both hashes and the way out', () => {
    const { run, pairs, before } = tampered();
    const build = () =>
      buildPayload(
        run.store,
        run.store.recipe(),
        { runId: run.store.id, runDir: run.store.dir, round: 2, stage: 'train', shard: 0 },
        1,
        1,
      );
    expect(build).toThrow(IntegrityError);
    expect(build).toThrow(
      new RegExp(
        `^${pairs}: output "pairs" of tamper-0001\\.r1\\.pair\\.s000 does not match its done record .*ipa verify .*ipa resume .* \\(sha256 in the record ${before}, on disk [0-9a-f]{64}\\)$`,
      ),
    );
  });

  it('ipa export refuses a tampered file and never reads a shard no record names', async () => {
    const { run } = tampered();
    const out = `${run.root}/export.jsonl`;
    const r = await ipa(['export', run.store.dir, '--format', 'jsonl', '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /ipa export: .*round-1\/pairs\/shard-000\.jsonl: output "pairs" of tamper-0001\.r1\.pair\.s000 does not match/,
    );
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('ipa resume computes the tampered shard and everything made from it again, keeps the rest, and loses nothing', async () => {
    const { run } = tampered();
    const conn = testConnection();
    const prefix = uniquePrefix('repair');
    const queues = new QueueSet(conn, prefix);
    try {
      const id = (round: number, stage: string, shard = 0) =>
        `${run.store.id}.r${round}.${stage}.s${String(shard).padStart(3, '0')}`;
      const r = await resumeRun(run.store, queues);
      expect(r.repair.damaged).toEqual([id(1, 'pair')]);
      // Round 1's training and everything after it learned from those pairs; shard 1 and 2's chains did not.
      expect(r.repair.dependents).toEqual(
        expect.arrayContaining([
          id(1, 'train'),
          id(1, 'eval'),
          id(1, 'advance'),
          id(2, 'sample'),
          id(2, 'pair'),
          id(2, 'train'),
          id(2, 'report'),
          id(2, 'advance'),
        ]),
      );
      for (const kept of [
        id(1, 'sample'),
        id(1, 'verify'),
        id(1, 'pair', 1),
        id(1, 'pair', 2),
        id(0, 'prepare'),
        id(0, 'advance'),
      ]) {
        expect(r.repair.dependents).not.toContain(kept);
        expect(run.store.doneRecord(kept), kept).toBeDefined();
      }
      expect(r.round).toBe(1);
      expect(r.enqueued).toBeGreaterThan(0);
      expect(run.store.info().state).toBe('running');
      // Nothing deleted: the records and the stray shard are in quarantine.
      expect(existsSync(run.store.abs(`${r.repair.quarantine}/jobs/${id(1, 'pair')}.json`))).toBe(true);
      expect(existsSync(run.store.abs(`${r.repair.quarantine}/round-1/pairs/shard-007.jsonl`))).toBe(true);
      // The queued round recomputes the tampered shard: it is a planned job again.
      expect(await queues.queue('pair').getJob(id(1, 'pair'))).toBeDefined();
      expect(await queues.queue('pair').getJob(id(1, 'pair', 1))).toBeUndefined();
      // Nothing is left to report: the tampered file waits where its job will overwrite it.
      expect(scanRun(run.store)).toEqual([]);
    } finally {
      await queues.close();
      await deletePrefix(conn, prefix);
      await conn.quit();
    }
  }, 60_000);

  it('ipa resume refuses, changing nothing, while a job of the damaged run is running (found by make chaos)', async () => {
    const { run } = tampered();
    const conn = testConnection();
    const prefix = uniquePrefix('repair-busy');
    const queues = new QueueSet(conn, prefix);
    const holder = new Worker('sample', null, { connection: testConnection(), prefix });
    try {
      const running = `${run.store.id}.r1.sample.s001`;
      await queues.queue('sample').add('sample', { runId: run.store.id }, { jobId: running });
      expect((await holder.getNextJob('held-by-test'))?.id).toBe(running);
      const record = run.store.abs(`jobs/${run.store.id}.r1.pair.s000.json`);
      const state = run.store.info().state;
      await expect(resumeRun(run.store, queues)).rejects.toThrow(
        new RegExp(
          `damaged outputs and 1 job\\(s\\) running \\(${running.replace(/\./g, '\\.')}\\).*nothing was changed.*ipa pause`,
        ),
      );
      expect(existsSync(record)).toBe(true);
      expect(existsSync(run.store.abs('quarantine'))).toBe(false);
      expect(run.store.info().state).toBe(state);
    } finally {
      await holder.close(true);
      await queues.close();
      await deletePrefix(conn, prefix);
      await conn.quit();
    }
  }, 60_000);
});
