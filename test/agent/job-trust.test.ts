/**
 * The agent trusts no job (issue 14, finding 1): a job added to a queue by anyone who can write
 * to it — bull-board, a script with the Redis URL — must prove it belongs before it touches the
 * disk. Reproduces the reported attack through a real agent on real Redis, then each check.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { trustJob, UntrustedJob, type TrustContext } from '../../orchestrator/agent/job-trust.js';
import { RunAnchor } from '../../orchestrator/agent/run-anchor.js';
import { TrustedRuns } from '../../orchestrator/agent/trusted-runs.js';
import { buildPayload } from '../../orchestrator/agent/payload.js';
import { jobId, type JobDescriptor, type QueueKind } from '../../orchestrator/plan/stages.js';
import { keys } from '../../orchestrator/queue/queues.js';
import { IntegrityError } from '../../orchestrator/store/integrity.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { fakeWorker } from '../helpers/fake-worker.js';
import { harness, tinyRecipe, type Harness } from '../helpers/harness.js';
import { waitFor } from '../integration/faults-support.js';

/** A folder an attacker controls, holding copies of a real run's run.json and recipe.json. */
function forgedRunDir(store: RunStore, name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ipa-forged-')), name);
  mkdirSync(dir);
  cpSync(store.abs('run.json'), join(dir, 'run.json'));
  cpSync(store.abs('recipe.json'), join(dir, 'recipe.json'));
  return dir;
}

describe('job trust through a real agent', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('refuses the reported attack: a traversal job id and a forged run dir write nothing and complete nothing', async () => {
    h = await harness('trust', tinyRecipe());
    const store = await h.submit();
    await h.startAgent({ queues: ['control'] });
    const target = mkdtempSync(join(tmpdir(), 'ipa-pwn-'));
    const forged = forgedRunDir(store, store.id);
    const forgedBefore = readFileSync(join(forged, 'run.json'), 'utf8');
    const control = h.queues.queue('control');

    // As filed: any id, a runDir holding a run.json and a recipe.json.
    const attacks: Array<{ id: string; data: Record<string, unknown>; why: RegExp }> = [
      {
        id: `../../../../../../../../..${target}/PWNED`,
        data: { runId: store.id, runDir: forged, round: 0, stage: 'advance', shard: 0 },
        why: /does not match its data/,
      },
      {
        id: jobId({ runId: store.id, round: 1, stage: 'advance', shard: 0 }),
        data: { runId: store.id, runDir: forged, round: 1, stage: 'advance', shard: 0 },
        why: /is not the one registered/,
      },
      {
        id: jobId({ runId: 'forged-run', round: 0, stage: 'advance', shard: 0 }),
        data: { runId: 'forged-run', runDir: forgedRunDir(store, 'forged-run'), round: 0, stage: 'advance', shard: 0 },
        why: /run forged-run was not submitted/,
      },
      {
        id: 'x',
        data: { runId: store.id, runDir: '/etc', round: 0, stage: 'advance', shard: 0, extra: 1 },
        why: /malformed data/,
      },
    ];
    for (const a of attacks) await control.add(a.id, a.data, { jobId: a.id, attempts: 3 });
    for (const a of attacks) {
      const job = await waitFor(
        `${a.id} to fail`,
        async () => {
          const j = await control.getJob(a.id);
          return j && (await j.getState()) === 'failed' ? control.getJob(a.id) : undefined;
        },
        60_000,
      );
      expect(job?.failedReason).toMatch(/^untrusted job: /);
      expect(job?.failedReason).toMatch(a.why);
      expect(job?.attemptsMade).toBe(1); // unrecoverable: no retry
    }
    expect(existsSync(join(target, 'PWNED.json'))).toBe(false);
    expect(existsSync(join(forged, 'jobs'))).toBe(false);
    expect(readFileSync(join(forged, 'run.json'), 'utf8')).toBe(forgedBefore);
    // The real run is untouched: still queued, no record, no attempt, no log.
    expect(store.info().state).toBe('queued');
    expect(store.doneIds().size).toBe(0);
    expect(store.allAttempts().size).toBe(0);
    expect(existsSync(store.abs('logs'))).toBe(false);
  }, 120_000);

  it('refuses a queued job whose data was edited to point elsewhere (PATCH update-data {"runDir": "/etc"})', async () => {
    h = await harness('trust-edit', tinyRecipe());
    const store = await h.submit();
    const id = jobId({ runId: store.id, round: 0, stage: 'prepare', shard: 0 });
    const prepare = h.queues.queue('prepare');
    const job = await prepare.getJob(id);
    await job!.updateData({ ...job!.data, runDir: '/etc' });
    await h.startAgent({ queues: ['prepare'], ...fakeWorker() });
    const failed = await waitFor(
      'the edited job to fail',
      async () => {
        const j = await prepare.getJob(id);
        return j && (await j.getState()) === 'failed' ? prepare.getJob(id) : undefined;
      },
      60_000,
    );
    expect(failed?.failedReason).toMatch(/untrusted job: .*run directory \/etc is not the one registered/);
    expect(store.info().state).toBe('queued');
  }, 120_000);
});

describe('trustJob checks', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('accepts the jobs ipa submit queued and refuses every kind of forgery with its reason', async () => {
    h = await harness('trust-unit', tinyRecipe());
    const store = await h.submit();
    // One cache for every call, as in an agent: each change below must be seen on the next check.
    const ctx: TrustContext = {
      redis: h.queues.connection,
      prefix: h.prefix,
      queue: 'prepare',
      anchor: new RunAnchor(),
      runs: new TrustedRuns(),
    };
    const d = (over: Partial<JobDescriptor> = {}): JobDescriptor => ({
      runId: store.id,
      runDir: store.dir,
      round: 0,
      stage: 'prepare',
      shard: 0,
      ...over,
    });
    const job = (data: JobDescriptor | Record<string, unknown>, id = jobId(data as JobDescriptor)) => ({ id, data });

    const ok = await trustJob(job(d()), ctx);
    expect(ok.id).toBe(jobId(d()));
    expect(ok.store.dir).toBe(store.dir);

    const refused = async (j: { id?: string; data: unknown }, why: RegExp, c = ctx) => {
      const err = await trustJob(j, c).catch((e: unknown) => e);
      expect(err, String(why)).toBeInstanceOf(UntrustedJob);
      expect((err as Error).message).toMatch(why);
    };
    await refused(job({ ...d(), runDir: 'relative' }), /malformed data \(runDir: not an absolute path\)/);
    await refused(job({ ...d(), runId: '../x' }), /malformed data \(runId: not a plain run id\)/);
    await refused(job({ ...d(), stage: 'shell' }), /malformed data \(stage: /);
    await refused(job(d(), 'other-id'), /job id "other-id" does not match its data/);
    await refused(job(d()), /stage prepare runs on queue prepare, not sample/, { ...ctx, queue: 'sample' });
    await refused(job(d()), /not submitted on this Redis under prefix "elsewhere"/, { ...ctx, prefix: 'elsewhere' });
    await refused(
      job(d({ runId: 'never-submitted', runDir: '/tmp/never-submitted' })),
      /run never-submitted was not submitted/,
    );
    // Not in the plan: a round beyond the recipe, a round not yet opened, a shard that does not exist.
    await refused(job(d({ round: 7, stage: 'eval' })), /round 7, stage eval, shard 0 is not in the plan/, {
      ...ctx,
      queue: 'eval',
    });
    await refused(job(d({ round: 1, stage: 'sample' })), /round 1, stage sample, shard 0 is not in the plan/, {
      ...ctx,
      queue: 'sample',
    });
    await refused(job(d({ shard: 3 })), /round 0, stage prepare, shard 3 is not in the plan/);

    // The registry and the run's own run.json must agree.
    await h.queues.connection.hset(keys.runs(h.prefix), 'impostor', store.dir);
    await refused(job(d({ runId: 'impostor' })), /run directory .* is not the one registered|names run/);
    const info = JSON.parse(readFileSync(store.abs('run.json'), 'utf8'));
    writeFileSync(store.abs('run.json'), JSON.stringify({ ...info, queue_prefix: 'other' }));
    await refused(job(d()), /uses queue prefix "other"/);
    writeFileSync(store.abs('run.json'), JSON.stringify(info).slice(0, 20));
    await refused(job(d()), /run\.json: truncated JSON/);
  }, 60_000);

  it('a job whose outputs lead out of the run directory through a planted link writes nothing', async () => {
    h = await harness('trust-link', tinyRecipe());
    const store = await h.submit();
    const outside = mkdtempSync(join(tmpdir(), 'ipa-outside-'));
    symlinkSync(outside, store.abs('data'));
    const build = () =>
      buildPayload(
        store,
        store.recipe(),
        { runId: store.id, runDir: store.dir, round: 0, stage: 'prepare', shard: 0 },
        1,
        1,
      );
    expect(build).toThrow(IntegrityError);
    expect(build).toThrow(/data\/seeds\.jsonl: resolves outside the run directory/);
  }, 60_000);
});
