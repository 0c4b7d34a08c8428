import { mkdtempSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPayload } from '../../orchestrator/agent/payload.js';
import { StagePayloadSchema } from '../../orchestrator/contract/payload.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import { RunStore, type DoneRecord } from '../../orchestrator/store/run-store.js';
import { atomicWriteJsonl } from '../../orchestrator/store/atomic.js';
import { buildManifest } from '../../orchestrator/store/manifest.js';
import { generationRate, renderStatus } from '../../orchestrator/cli/render.js';

function newRun() {
  const root = mkdtempSync(join(tmpdir(), 'ipa-store-'));
  const recipeFile = join(root, 'r.yaml');
  writeFileSync(recipeFile, 'name: s\nmodel: {base: /m}\n');
  const recipe = RecipeSchema.parse({ name: 's', model: { base: '/m' } });
  return RunStore.create({ runsDir: join(root, 'runs'), recipe, recipeFile, queuePrefix: 'p' });
}

const record = (store: RunStore, id: string, out: string): DoneRecord => ({
  job_id: id,
  stage: 'prepare',
  round: 0,
  shard: 0,
  outputs: { seeds: atomicWriteJsonl(store.abs(out), [{ id: 'a' }]) },
  metrics: {},
  failed_items: [],
  attempts: 1,
  started_at: new Date().toISOString(),
  finished_at: new Date().toISOString(),
  duration_ms: 1,
  worker: 'w',
});

describe('run store', () => {
  it('creates the run directory with the recipe copy and queued state, not world-writable', () => {
    const s = newRun();
    expect(s.info().state).toBe('queued');
    expect(s.recipe().name).toBe('s');
    expect(statSync(s.dir).mode & 0o002).toBe(0);
  });

  it('a done record counts only while its outputs exist and match their checksum', () => {
    const s = newRun();
    const id = `${s.id}.r0.prepare.s000`;
    s.writeDone(record(s, id, 'data/seeds.jsonl'));
    expect(s.doneIds().has(id)).toBe(true);
    expect(s.verifiedDoneRecord(id)).toBeDefined();
    writeFileSync(s.abs('data/seeds.jsonl'), '{"id":"tampered"}\n');
    expect(s.verifiedDoneRecord(id)).toBeUndefined();
  });

  it('counts attempts per job, and the manifest reports them', () => {
    const s = newRun();
    const id = `${s.id}.r0.prepare.s000`;
    s.recordAttempt(id, { attempt: 1, worker: 'w', started_at: '' });
    s.recordAttempt(id, { attempt: 2, worker: 'w', started_at: '' });
    s.writeDone(record(s, id, 'data/seeds.jsonl'));
    const m = buildManifest(s);
    expect(m.jobs[id]).toMatchObject({ done: true, attempts: 2, rows: 1 });
    expect(m.totals.recomputed).toBe(1);
    expect(m.rounds[0].stages.find((x) => x.stage === 'prepare')).toMatchObject({ jobs: 1, done: 1 });
  });

  it('a done job counts at least one attempt, also without an attempt line (a Node advance): attempts never read as fewer than jobs done', () => {
    const s = newRun();
    const id = `${s.id}.r0.prepare.s000`;
    s.writeDone(record(s, id, 'data/seeds.jsonl'));
    const m = buildManifest(s);
    expect(m.jobs[id]).toMatchObject({ done: true, attempts: 1 });
    expect(m.rounds[0].stages.find((x) => x.stage === 'prepare')).toMatchObject({ done: 1, attempts: 1 });
    expect(m.totals.attempts).toBeGreaterThanOrEqual(m.totals.done);
    expect(m.totals.recomputed).toBe(0);
  });

  it('the manifest sums what generating jobs made and names their engines; ipa status shows tokens/s per stage', () => {
    const s = newRun();
    const id = `${s.id}.r0.eval.s000`;
    const metrics = { engine: 'vllm', generated_tokens: 1500, generation_s: 2.5, overall: 0.5, n: 4 };
    s.writeDone({ ...record(s, id, 'eval/round-0.json'), stage: 'eval', metrics });
    const evalStage = buildManifest(s).rounds[0].stages.find((x) => x.stage === 'eval')!;
    expect(evalStage.engines).toEqual(['vllm']);
    expect(evalStage.metrics).toMatchObject({ generated_tokens: 1500, generation_s: 2.5 });
    const line = renderStatus(buildManifest(s), { dir: s.dir })
      .split('\n')
      .find((l) => l.trimStart().startsWith('eval'))!;
    expect(line).toContain('held-out accuracy 50.0% on 4 items  600 tokens/s on vllm');
    // A stage that generated nothing (a rule verifier: engine null) shows no rate.
    expect(generationRate({ metrics: { generated_tokens: 0, generation_s: 0 }, engines: undefined })).toBe('');
  });

  it('final states are sticky unless forced', () => {
    const s = newRun();
    s.setState('cancelled');
    expect(s.setState('running').state).toBe('cancelled');
    expect(s.setState('running', { force: true }).state).toBe('running');
  });

  it('a failed run keeps its first error: a job refused afterwards because the run is failed does not bury the cause', () => {
    const s = newRun();
    s.setState('failed', { error: 'r1.verify.s001: sha256 mismatch in round-1/responses/shard-001.jsonl' });
    s.setState('failed', { error: 'r1.revise.s003: run x is failed' });
    expect(s.info().error).toBe('r1.verify.s001: sha256 mismatch in round-1/responses/shard-001.jsonl');
    s.setState('running', { force: true });
    expect(s.setState('failed', { error: 'r1.pair.s000: the next failure' }).error).toBe(
      'r1.pair.s000: the next failure',
    );
  });
});

describe('run directories from before the worker settings left the recipe', () => {
  it('still read: the moved settings are dropped from recipe.json, so payloads pass the strict contract', () => {
    const s = newRun();
    const path = s.abs('recipe.json');
    const old = JSON.parse(readFileSync(path, 'utf8'));
    old.orchestration = { ...old.orchestration, lock_duration_ms: 300000, stalled_interval_ms: 30000 };
    writeFileSync(path, JSON.stringify(old));
    expect(RecipeSchema.safeParse(old).success).toBe(false);

    const recipe = s.recipe();
    expect(recipe.orchestration).toEqual({
      attempts: 3,
      backoff_ms: 2000,
      concurrency: { sample: 1, verify: 1, revise: 1, train: 1, eval: 1 },
    });
    const payload = buildPayload(s, recipe, { runId: s.id, runDir: s.dir, round: 0, stage: 'prepare', shard: 0 }, 1, 1);
    expect(StagePayloadSchema.parse(payload).recipe).toEqual(recipe);
  });
});
