/**
 * Runs are easy to find and inputs are checked: ambiguous prefixes list their candidates, a run
 * kept beside a recipe elsewhere is found by id through the registry, `ipa list` says where each
 * run is, `ipa logs` filters are checked against the run, `ipa validate --offline` works before
 * any download, and `ipa resume` without a Redis says what to do.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLogFilter } from '../../orchestrator/cli/log-filter.js';
import { pauseRun } from '../../orchestrator/run/pause.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import { buildManifest } from '../../orchestrator/store/manifest.js';
import { registerRun } from '../../orchestrator/store/run-registry.js';
import { RunStore } from '../../orchestrator/store/run-store.js';
import { REPO } from '../helpers/harness.js';
import { ipaInProcess as ipa } from '../helpers/ipa-in-process.js';
import { deletePrefix, testConnection, uniquePrefix } from '../helpers/redis.js';
import { manifest, stage } from '../helpers/manifest.js';

const temp = (name: string) => mkdtempSync(join(tmpdir(), `ipa-${name}-`));

function makeRun(runsDir: string, id: string, register = true): RunStore {
  const recipeFile = join(temp('recipe'), 'r.yaml');
  writeFileSync(recipeFile, 'name: s\nmodel: {base: /m}\n');
  const s = RunStore.create({
    runsDir,
    recipe: RecipeSchema.parse({ name: 's', model: { base: '/m' } }),
    recipeFile,
    queuePrefix: 'p',
    id,
  });
  if (register) registerRun({ id: s.id, dir: s.dir, created_at: s.info().created_at });
  return s;
}

describe('finding runs', () => {
  it('a typo\'d run id gets a "did you mean" with the run it most likely meant (exit 5)', async () => {
    const runsDir = join(temp('runs'), 'runs');
    makeRun(runsDir, 'tiny1-20261126-0900-aaaa', false);
    const r = await ipa('status', 'tiny1-20261126-0900-aaab', '--runs-dir', runsDir);
    expect(r.code).toBe(5);
    expect(r.err).toContain("no run 'tiny1-20261126-0900-aaab' (did you mean 'tiny1-20261126-0900-aaaa'?)");
    const far = await ipa('status', 'nothing-like-it', '--runs-dir', runsDir);
    expect(far.err).not.toContain('did you mean');
  });

  it('an id prefix that fits several runs lists them all (exit 2) instead of "no run"', async () => {
    const runsDir = join(temp('runs'), 'runs');
    const ids = ['tiny1-20261126-0900-aaaa', 'tiny1-20261126-0910-bbbb', 'tiny1-20261126-0920-cccc'].map(
      (id) => makeRun(runsDir, id).id,
    );
    const r = await ipa('status', 'tiny1', '--runs-dir', runsDir);
    expect(r.code).toBe(2);
    expect(r.err).toContain("ipa status: 'tiny1' fits 3 runs; give more of the id:");
    for (const id of ids) expect(r.err).toContain(id);
    expect((await ipa('status', 'tiny1-20261126-0910', '--runs-dir', runsDir)).code).toBe(0);
  });

  it('a run submitted from a recipe kept outside the repository is found by its id from anywhere, and listed with its place', async () => {
    const away = temp('away');
    const recipeFile = join(away, 'mine.yaml');
    writeFileSync(
      recipeFile,
      stringify({
        name: 'faraway',
        model: { base: 'model', build_tiny: true },
        data: { synthetic: { enabled: true } },
      }),
    );
    const prefix = uniquePrefix('away');
    const conn = testConnection();
    try {
      const sub = await ipa('submit', recipeFile, '--prefix', prefix);
      expect(sub.code).toBe(0);
      const id = sub.out.trim();
      expect(id).toMatch(/^faraway-/);
      // The repository's runs/ does not hold it; the registry does.
      const st = await ipa('status', id.slice(0, 12), '--runs-dir', join(REPO, 'runs'));
      expect(st.code).toBe(0);
      expect(st.out).toContain(`run ${id}  queued`);
      const list = await ipa('list', '--runs-dir', join(REPO, 'runs'));
      expect(list.out).toMatch(new RegExp(`${id}\\s+queued\\s+3 rounds .*${join(away, 'runs', id)}`));
      rmSync(join(away, 'runs', id), { recursive: true });
      const gone = await ipa('list', '--runs-dir', join(REPO, 'runs'));
      expect(gone.out).toMatch(new RegExp(`${id}\\s+gone .*\\(directory gone\\)`));
      expect((await ipa('status', id)).code).toBe(5);
    } finally {
      await deletePrefix(conn, prefix);
      await conn.quit();
    }
  });
});

describe('ipa logs filters', () => {
  it('a stage, round or shard the run lacks is a usage error listing what it has', async () => {
    const m = manifest([
      { round: 0, stages: [stage('prepare'), stage('eval')] },
      { round: 1, shards: 6, stages: [stage('sample', { jobs: 6 }), stage('train')] },
      { round: 2, shards: 0, stages: [] },
    ]);
    expect(checkLogFilter(m, { stage: 'trian' })).toEqual({
      problem: "run run-1 has no stage 'trian' (did you mean 'train'?); its stages: prepare, eval, sample, train",
    });
    expect(checkLogFilter(m, { round: '7' })).toEqual({
      problem: 'run run-1 has no round 7; its rounds: 0–2 (0 is the preparation)',
    });
    expect(checkLogFilter(m, { round: '1', shard: '6' })).toEqual({
      problem: 'round 1 of run run-1 has no shard 6; its shards: 0–5',
    });
    expect(checkLogFilter(m, { round: 'two' })).toEqual({ problem: "--round must be a whole number >= 0, got 'two'" });
    expect(checkLogFilter(m, { round: '1', stage: 'sample', shard: '5' })).toEqual({
      filter: { round: 1, stage: 'sample', shard: 5 },
    });
    expect(checkLogFilter(m, {})).toEqual({ filter: { round: undefined, stage: undefined, shard: undefined } });
  });

  it('the command exits 2 with that message', async () => {
    const s = makeRun(join(temp('runs'), 'runs'), 'logs-check');
    const r = await ipa('logs', s.dir, '--stage', 'trian');
    expect(r.code).toBe(2);
    // The recipe's round 1 will have a train stage: the typo gets its "did you mean".
    expect(r.err).toContain(
      "run logs-check has no stage 'trian' (did you mean 'train'?); its stages: prepare, eval, advance, sample, verify, revise, verify_revisions, pair, train, report",
    );
    expect(checkLogFilter(buildManifest(s), { round: '0' })).toEqual({
      filter: { round: 0, stage: undefined, shard: undefined },
    });
  });

  it('stages and rounds the recipe will have are accepted before they are planned, and --follow waits for their logs', async () => {
    const s = makeRun(join(temp('runs'), 'runs'), 'logs-later');
    const m = buildManifest(s);
    expect(m.rounds[1].stages).toEqual([]); // round 1 is not planned yet
    expect(checkLogFilter(m, { round: '1', stage: 'train' }, s.recipe())).toEqual({
      filter: { round: 1, stage: 'train', shard: undefined },
    });
    expect(checkLogFilter(m, { stage: 'sample', shard: '4' }, s.recipe())).toEqual({
      filter: { round: undefined, stage: 'sample', shard: 4 },
    });
    expect(checkLogFilter(m, { round: '0', stage: 'train' }, s.recipe())).toMatchObject({
      problem: "round 0 of run logs-later has no stage 'train'; its stages: prepare, eval, advance",
    });
    const now = await ipa('logs', s.dir, '--stage', 'train');
    expect(now.code).toBe(0);
    expect(now.err).toContain(
      'no job logs yet for that selection of run logs-later: its jobs have not started (--follow waits for them)',
    );
    // --follow: waits until the job's log appears and the run ends.
    const followed = ipa('logs', s.dir, '--stage', 'train', '--follow');
    await new Promise((r) => setTimeout(r, 700));
    s.appendLog('logs-later.r1.train.s000', '12:00:00 policy DPO: 4 pairs, 1 epoch');
    s.setState('completed');
    const f = await followed;
    expect(f.code).toBe(0);
    expect(f.out).toContain('logs-later.r1.train.s000 | 12:00:00 policy DPO: 4 pairs, 1 epoch');
  });
});

describe('checking a recipe before downloading anything', () => {
  it("the README's first example: --offline turns missing model and data into warnings that say submit needs them", async () => {
    const file = join(REPO, 'recipes', 'qwen2vl-7b-ipa.yaml');
    const strict = await ipa('validate', file);
    expect(strict.code).toBe(3);
    const offline = await ipa('validate', '--offline', file);
    expect(offline.code).toBe(0);
    expect(offline.out).toMatch(/^ok: qwen2vl-7b-ipa: 3 rounds/);
    expect(offline.err).toMatch(
      /^warning: .*qwen2vl-7b-ipa\.yaml:\d+:\d+ model\.base: path not found: .*; `ipa submit` and `ipa run` need it there/m,
    );
    expect(offline.err).toMatch(/^warning: .* data\.sources\[0\]\.path: path not found/m);
  });

  it('a missing prompt template stays an error offline: it is written by hand, not downloaded', async () => {
    const dir = temp('offline-template');
    const file = join(dir, 'r.yaml');
    writeFileSync(
      file,
      'name: x\nmodel: {base: m}\ndata: {synthetic: {enabled: true}}\nreviser:\n  refine_template: prompts/refine.txt\n',
    );
    const r = await ipa('validate', '--offline', file);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/r\.yaml:5:20 reviser\.refine_template: file not found: .*prompts\/refine\.txt /m);
    expect(r.err).not.toContain('need it there');
    // With the template written, the model (a download) missing is only a warning.
    mkdirSync(join(dir, 'prompts'));
    writeFileSync(join(dir, 'prompts', 'refine.txt'), 'Refine: {response}\n');
    const ok = await ipa('validate', '--offline', file);
    expect(ok.code).toBe(0);
    expect(ok.err).toMatch(
      /^warning: .*r\.yaml:2:15 model\.base: path not found: .*; `ipa submit` and `ipa run` need it there/m,
    );
  });

  it('paths outside the allowed roots stay errors offline', async () => {
    const dir = temp('offline');
    const file = join(dir, 'r.yaml');
    writeFileSync(file, 'name: x\nmodel: {base: /etc/nowhere}\ndata: {synthetic: {enabled: true}}\n');
    const r = await ipa('validate', '--offline', file);
    expect(r.code).toBe(3);
    expect(r.err).toContain('outside the allowed roots');
  });

  it('warns about a recipe that samples nothing, builds no pair or never trains the reviser', async () => {
    const dir = temp('warn');
    const write = (name: string, body: Record<string, unknown>) => {
      const f = join(dir, name);
      writeFileSync(
        f,
        stringify({
          name: 'w',
          model: { base: 'm', build_tiny: true },
          data: { synthetic: { enabled: true } },
          ...body,
        }),
      );
      return f;
    };
    const nothing = await ipa('validate', write('a.yaml', { sampling: { num_normal: 0, num_contrastive: 0 } }));
    expect(nothing.code).toBe(0);
    expect(nothing.err).toMatch(
      /^warning: .*a\.yaml:\d+:\d+ sampling\.num_normal: the recipe samples nothing \(sampling\.num_normal is 0, num_contrastive 0\)/m,
    );
    const noPairs = await ipa(
      'validate',
      write('b.yaml', {
        sampling: { num_normal: 1, num_contrastive: 0 },
        rounds: [{ revision: false }],
        training: { train_reviser: false },
      }),
    );
    expect(noPairs.err).toMatch(/rounds: the recipe trains on nothing: no round can build a pair/);
    // rft trains on accepted responses, not pairs: one response per seed is enough.
    const rft = await ipa(
      'validate',
      write('b2.yaml', {
        sampling: { num_normal: 1, num_contrastive: 0 },
        rounds: [{ revision: false }],
        training: { objective: 'rft', train_reviser: false },
      }),
    );
    expect(rft.err).toBe('');
    const someRounds = await ipa(
      'validate',
      write('c.yaml', { sampling: { num_normal: 0, num_contrastive: 4 }, rounds: [{}, { contrastive: false }] }),
    );
    expect(someRounds.err).toMatch(/rounds\[1\]: round 2 samples nothing/);
    const reviser = await ipa('validate', write('d.yaml', { pairs: { feedback_pairs: false } }));
    expect(reviser.err).toMatch(
      /pairs\.feedback_pairs: training\.train_reviser is on but pairs\.feedback_pairs is off: the reviser is never trained/,
    );
    expect((await ipa('validate', write('e.yaml', {}))).err).toBe('');
  });
});

describe('what to do next', () => {
  const saved = process.env.REDIS_URL;
  afterEach(() => {
    process.env.REDIS_URL = saved;
  });

  it('ipa resume without a Redis on a run that was not interrupted here lists the exact alternatives (exit 4)', async () => {
    const s = makeRun(join(temp('runs'), 'runs'), 'shared-run');
    s.setState('running');
    delete process.env.REDIS_URL;
    const r = await ipa('resume', s.dir);
    expect(r.code).toBe(4);
    expect(r.err).toContain('no Redis configured, so run shared-run (running) cannot be re-queued. Either:');
    expect(r.err).toContain('ipa run shared-run ');
    expect(r.err).toContain('ipa resume shared-run --redis-url redis://HOST:6379');
    expect(r.err).toContain('ipa worker --redis-url redis://HOST:6379');
  });

  it('an interrupted run cannot be paused: nothing runs it; the message says how to continue', () => {
    const s = makeRun(join(temp('runs'), 'runs'), 'stopped-run', false);
    s.setState('interrupted');
    expect(() => pauseRun(s)).toThrow(
      'run stopped-run is interrupted: nothing is running it; continue it with `ipa run stopped-run`',
    );
    expect(s.setState('running', { force: true }).state).toBe('running');
  });
});
