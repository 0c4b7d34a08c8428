/**
 * A trust anchor a Redis writer cannot forge (issue 25, finding 1): the runs registry lives in
 * Redis, so whoever can write Redis can register a run there. Reproduces the attack through a
 * real agent — a hand-made run directory whose recipe sends outputs elsewhere, registered on
 * Redis, with a job queued for it — then checks each part of the anchor: this host's registry,
 * run roots, the recipe's own path rules, the queue secret and the private Redis's password.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { trustJob, UntrustedJob, type TrustContext } from '../../orchestrator/agent/job-trust.js';
import { RunAnchor } from '../../orchestrator/agent/run-anchor.js';
import { TrustedRuns } from '../../orchestrator/agent/trusted-runs.js';
import { jobId, type JobDescriptor } from '../../orchestrator/plan/stages.js';
import { JobSigner } from '../../orchestrator/queue/job-signer.js';
import { QueueSet } from '../../orchestrator/queue/queues.js';
import { registerOnQueue } from '../../orchestrator/queue/run-registration.js';
import { LocalSession } from '../../orchestrator/run/local-session.js';
import { jobFor } from '../../orchestrator/queue/chains.js';
import { flattenPlan, planRound } from '../../orchestrator/plan/planner.js';
import type { RunStore } from '../../orchestrator/store/run-store.js';
import { fakeWorker } from '../helpers/fake-worker.js';
import { harness, tinyRecipe, type Harness } from '../helpers/harness.js';
import { waitFor } from '../integration/faults-support.js';

/**
 * The attacker's run: a folder they own, named as its run id, with a run.json for the test's
 * prefix and a recipe.json that sends the synthetic data (written by `prepare`) to `target`.
 */
function forgeRun(real: RunStore, prefix: string, target: string): { id: string; dir: string } {
  const id = 'forged-run';
  const root = mkdtempSync(join(tmpdir(), 'ipa-attacker-'));
  const dir = join(root, id);
  mkdirSync(dir);
  const info = JSON.parse(readFileSync(real.abs('run.json'), 'utf8'));
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...info, id, queue_prefix: prefix, state: 'queued' }));
  const recipe = JSON.parse(readFileSync(real.abs('recipe.json'), 'utf8'));
  recipe.data.synthetic.output_dir = target;
  recipe.allowed_roots = ['/'];
  writeFileSync(join(dir, 'recipe.json'), JSON.stringify(recipe));
  return { id, dir };
}

const prepareOf = (runId: string, runDir: string): JobDescriptor => ({
  runId,
  runDir,
  round: 0,
  stage: 'prepare',
  shard: 0,
});

describe('a run registered on Redis alone is not trusted', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('refuses the reported attack: a forged registry entry, run.json and recipe.json, and a job for them, write nothing', async () => {
    h = await harness('anchor', tinyRecipe());
    const real = await h.submit();
    const target = mkdtempSync(join(tmpdir(), 'ipa-target-'));
    const forged = forgeRun(real, h.prefix, target);
    // What anyone with the Redis URL can do: register the run, queue a job in its plan.
    await h.queues.connection.hset(`${h.prefix}:ipa:runs`, forged.id, forged.dir);
    const d = prepareOf(forged.id, forged.dir);
    const prepare = h.queues.queue('prepare');
    await prepare.add(jobId(d), d, { jobId: jobId(d), attempts: 3 });
    await h.startAgent({ queues: ['prepare'], ...fakeWorker() });
    // Read again once failed: the state can be seen before the failure's reason is written.
    const failed = await waitFor(
      'the forged job to fail',
      async () => {
        const j = await prepare.getJob(jobId(d));
        return j && (await j.getState()) === 'failed' ? prepare.getJob(jobId(d)) : undefined;
      },
      60_000,
    );
    expect(failed.failedReason).toMatch(
      /^untrusted job: .*run forged-run in .* was not registered on this host .* and it was given no run roots/,
    );
    expect(failed.attemptsMade).toBe(1);
    // Nothing written: not in the forged folder (no attempt line, log, record), not at the target.
    expect(readdirSync(forged.dir).sort()).toEqual(['recipe.json', 'run.json']);
    expect(readdirSync(target)).toEqual([]);
  }, 120_000);

  it('a run root vouches for the folders under it, and the recipe must still keep its own path rules', async () => {
    h = await harness('anchor-roots', tinyRecipe());
    const real = await h.submit();
    const target = mkdtempSync(join(tmpdir(), 'ipa-target-'));
    const forged = forgeRun(real, h.prefix, target);
    await h.queues.connection.hset(`${h.prefix}:ipa:runs`, forged.id, forged.dir);
    const ctx = (roots: string[] = []): TrustContext => ({
      redis: h!.queues.connection,
      prefix: h!.prefix,
      queue: 'prepare',
      anchor: new RunAnchor({ roots }),
      runs: new TrustedRuns(),
    });
    const job = { id: jobId(prepareOf(forged.id, forged.dir)), data: prepareOf(forged.id, forged.dir) };
    await expect(trustJob(job, ctx())).rejects.toThrow(/was not registered on this host/);
    // Under a root given to the agent the folder is served: its recipe (allowed_roots ['/']) passes.
    const attackerRoot = join(forged.dir, '..');
    await expect(trustJob(job, ctx([attackerRoot]))).resolves.toMatchObject({ id: job.id });
    // A recipe.json edited after validation so that a path leaves its own roots is refused.
    const recipe = JSON.parse(readFileSync(join(forged.dir, 'recipe.json'), 'utf8'));
    writeFileSync(join(forged.dir, 'recipe.json'), JSON.stringify({ ...recipe, allowed_roots: [attackerRoot] }));
    const err = await trustJob(job, ctx([attackerRoot])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UntrustedJob);
    expect((err as Error).message).toMatch(/recipe\.json: [a-z_.]+ = ".*" lies outside the recipe's allowed roots/);
  }, 60_000);

  it('with a queue secret, only signed registry entries and jobs are taken', async () => {
    h = await harness('anchor-secret', tinyRecipe());
    const store = await h.submit(); // registered unsigned: the harness has no secret
    const signer = JobSigner.fromSecret('a secret of at least sixteen bytes');
    const ctx: TrustContext = {
      redis: h.queues.connection,
      prefix: h.prefix,
      queue: 'prepare',
      anchor: new RunAnchor(),
      runs: new TrustedRuns(),
      signer,
    };
    const d = prepareOf(store.id, store.dir);
    const id = jobId(d);
    await expect(trustJob({ id, data: d }, ctx)).rejects.toThrow(/unsigned, and this worker has a queue secret/);
    await expect(trustJob({ id, data: { ...d, sig: signer.signJob(id, d) } }, ctx)).rejects.toThrow(
      /registry entry of run .* is not signed/,
    );
    const signed = new QueueSet(h.queues.connection, h.prefix, signer);
    await registerOnQueue(signed, store.id, store.dir);
    await expect(trustJob({ id, data: { ...d, sig: signer.signJob(id, d) } }, ctx)).resolves.toMatchObject({ id });
    // A signature made for one job does not carry over to another, nor to other data.
    const other = { ...d, runDir: '/etc' };
    await expect(trustJob({ id, data: { ...other, sig: signer.signJob(id, d) } }, ctx)).rejects.toThrow(
      /signature does not match its data/,
    );
    const wrongKey = JobSigner.fromSecret('another secret, sixteen bytes or more');
    await expect(trustJob({ id, data: { ...d, sig: wrongKey.signJob(id, d) } }, ctx)).rejects.toThrow(
      /signature does not match/,
    );
    // The jobs ipa submit and the agents queue with the secret carry valid signatures.
    for (const link of flattenPlan(planRound(store.recipe(), store.id, 1, 3))) {
      const j = jobFor(link, { id: store.id, dir: store.dir }, store.recipe(), signer);
      expect(signer.verifyJob(j.name, j.data, j.data.sig), j.name).toBe(true);
    }
  }, 60_000);

  it('reads the secret only from a file its owner alone can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipa-secret-'));
    const file = join(dir, 'secret');
    writeFileSync(file, 'x'.repeat(32));
    chmodSync(file, 0o644);
    expect(() => JobSigner.fromEnv({ IPA_SECRET_FILE: file })).toThrow(/readable by others \(mode 644\); `chmod 600/);
    chmodSync(file, 0o600);
    expect(JobSigner.fromEnv({ IPA_SECRET_FILE: file })).toBeInstanceOf(JobSigner);
    expect(JobSigner.fromEnv({})).toBeUndefined();
    expect(() => JobSigner.fromEnv({ IPA_SECRET_FILE: join(dir, 'none') })).toThrow(/cannot be read \(ENOENT\)/);
    writeFileSync(file, 'short');
    expect(() => JobSigner.fromEnv({ IPA_SECRET_FILE: file })).toThrow(/too short/);
  });
});

describe('the private Redis of ipa run / ipa ablate', () => {
  it('listens on loopback with a random password: a client without it can write nothing', async () => {
    const session = await LocalSession.open({ prefix: 'pw' });
    try {
      const url = new URL(session.redisUrl);
      expect(url.hostname).toBe('127.0.0.1');
      expect(decodeURIComponent(url.password)).toMatch(/^[0-9a-f]{48}$/);
      // A client that knows only the port, speaking the protocol by hand.
      const reply = await new Promise<string>((res, rej) => {
        const sock = connect(Number(url.port), '127.0.0.1', () => sock.write('SET k v\r\n'));
        sock.once('data', (b) => {
          res(String(b));
          sock.destroy();
        });
        sock.once('error', rej);
      });
      expect(reply).toMatch(/^-NOAUTH/);
      expect(await session.connection.set('k', 'v')).toBe('OK');
    } finally {
      await session.close();
    }
    // Each session draws its own.
    const [a, b] = await Promise.all([LocalSession.open({ prefix: 'pw' }), LocalSession.open({ prefix: 'pw' })]);
    await Promise.all([a.close(), b.close()]);
    expect(new URL(a.redisUrl).password).not.toBe(new URL(b.redisUrl).password);
  }, 60_000);
});

/** The cache behind the checks keeps their meaning: a change between two jobs is judged on the second. */
describe('trusted run cache', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a tampered recipe.json or run.json between two jobs is caught on the second, and a restored one is taken again', async () => {
    h = await harness('trust-cache', tinyRecipe());
    const store = await h.submit();
    const ctx: TrustContext = {
      redis: h.queues.connection,
      prefix: h.prefix,
      queue: 'prepare',
      anchor: new RunAnchor(),
      runs: new TrustedRuns(),
    };
    const d = prepareOf(store.id, store.dir);
    const job = { id: jobId(d), data: d };
    await trustJob(job, ctx);
    const recipeText = readFileSync(store.abs('recipe.json'), 'utf8');
    const recipe = JSON.parse(recipeText);
    // Same size, so only the stamp's mtime/ctime tells: a cache keyed on size would miss it.
    const swapped = recipeText.replace(
      recipe.data.synthetic.output_dir,
      '/'.padEnd(recipe.data.synthetic.output_dir.length, 'x'),
    );
    expect(swapped.length).toBe(recipeText.length);
    writeFileSync(store.abs('recipe.json'), swapped);
    await expect(trustJob(job, ctx)).rejects.toThrow(/output_dir = "\/x+" lies outside the recipe's allowed roots/);
    writeFileSync(store.abs('recipe.json'), recipeText);
    await expect(trustJob(job, ctx)).resolves.toMatchObject({ id: job.id });
    const runJson = readFileSync(store.abs('run.json'), 'utf8');
    writeFileSync(store.abs('run.json'), runJson.replace(store.id, 'someone-else'.padEnd(store.id.length, '-')));
    await expect(trustJob(job, ctx)).rejects.toThrow(/names run someone-else/);
    cpSync(store.abs('recipe.yaml'), store.abs('run.json'));
    await expect(trustJob(job, ctx)).rejects.toThrow(/run\.json: not valid JSON/);
  }, 60_000);

  it('a round is in the plan once its opening is recorded, with the shard count that record gives', async () => {
    h = await harness('trust-rounds', tinyRecipe());
    const store = await h.submit();
    const ctx: TrustContext = {
      redis: h.queues.connection,
      prefix: h.prefix,
      queue: 'sample',
      anchor: new RunAnchor(),
      runs: new TrustedRuns(),
    };
    const sample = (shard: number) => {
      const d: JobDescriptor = { runId: store.id, runDir: store.dir, round: 1, stage: 'sample', shard };
      return { id: jobId(d), data: d };
    };
    await expect(trustJob(sample(0), ctx)).rejects.toMatchObject({
      pending: true,
      message: expect.stringMatching(/round 1, stage sample, shard 0 is not in the plan/),
    });
    // The opening: advance(0)'s record naming two seed shards.
    mkdirSync(store.abs('round-1/seeds'), { recursive: true });
    const outputs: Record<string, { path: string; rows: number }> = {};
    for (const k of [0, 1]) {
      const p = store.abs(`round-1/seeds/shard-00${k}.jsonl`);
      writeFileSync(p, '');
      outputs[`seeds_${k}`] = { path: p, rows: 0 };
    }
    const advance = jobId({ runId: store.id, round: 0, stage: 'advance', shard: 0 });
    store.writeDone({
      job_id: advance,
      stage: 'advance',
      round: 0,
      shard: 0,
      outputs,
      metrics: {},
      failed_items: [],
      attempts: 1,
      started_at: '',
      finished_at: '',
      duration_ms: 0,
      worker: 't',
    });
    await expect(trustJob(sample(0), ctx)).resolves.toMatchObject({ id: sample(0).id });
    await expect(trustJob(sample(1), ctx)).resolves.toMatchObject({ id: sample(1).id });
    await expect(trustJob(sample(2), ctx)).rejects.toThrow(/round 1, stage sample, shard 2 is not in the plan/);
    const train = {
      id: jobId({ runId: store.id, round: 1, stage: 'train', shard: 0 }),
      data: { runId: store.id, runDir: store.dir, round: 1, stage: 'train', shard: 0 },
    };
    await expect(trustJob(train, { ...ctx, queue: 'train' })).resolves.toMatchObject({ id: train.id });
    await expect(
      trustJob(
        { id: jobId({ ...train.data, shard: 1 } as JobDescriptor), data: { ...train.data, shard: 1 } },
        { ...ctx, queue: 'train' },
      ),
    ).rejects.toThrow(/shard 1 is not in the plan/);
  }, 60_000);
});
