/**
 * A Python `stage` result is accepted only through the contract's StageResultSchema: a malformed
 * one fails its job for good (no retry) and the run, with the field path and the problem in the
 * error. Through a real agent and the bridge, with a fake worker that answers a bad result.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ContractError } from '../../orchestrator/contract/contract-error.js';
import { parseStageResult } from '../../orchestrator/contract/stage-result.js';
import { jobId } from '../../orchestrator/plan/stages.js';
import { fakeWorker } from '../helpers/fake-worker.js';
import { harness, tinyRecipe, type Harness } from '../helpers/harness.js';

const HEX = 'a'.repeat(64);

describe('parseStageResult', () => {
  it('fills the defaults of a good result', () => {
    const out = { path: '/r/x.jsonl', rows: 2, sha256: HEX };
    expect(parseStageResult({ outputs: { x: out } }, 'j')).toEqual({
      outputs: { x: out },
      metrics: {},
      failed_items: [],
    });
  });

  it('names every bad field with its path and problem', () => {
    const bad = () =>
      parseStageResult(
        { outputs: { seeds: { path: 'seeds.jsonl', rows: 2, sha256: 'xyz' } }, failed_items: [{ id: 1 }] },
        'run.r0.prepare.s000',
      );
    expect(bad).toThrow(ContractError);
    expect(bad).toThrow(
      /^stage result of run\.r0\.prepare\.s000 is malformed: outputs\.seeds\.path: an absolute path; outputs\.seeds\.sha256: a lowercase hex SHA-256; failed_items\[0\]\.id: .+; failed_items\[0\]\.reason: .+$/,
    );
    expect(() => parseStageResult(null, 'j')).toThrow(/^stage result of j is malformed: \(the whole message\): /);
    expect(() => parseStageResult({ metrics: {} }, 'j')).toThrow(/^stage result of j is malformed: outputs: /);
  });
});

describe('a malformed stage result through the agent', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('fails the job without a retry and the run, naming the field', async () => {
    h = await harness('badresult', tinyRecipe());
    const result = { outputs: { seeds: { path: '/tmp/seeds.jsonl', rows: 3, sha256: 'not-a-hash' } }, metrics: {} };
    await h.startAgent({ queues: ['control', 'prepare'], ...fakeWorker({ result }) });
    const store = await h.submit();
    expect(await h.wait(store, 60_000)).toBe('failed');

    const id = jobId({ runId: store.id, round: 0, stage: 'prepare', shard: 0 });
    const why = `stage result of ${id} is malformed: outputs.seeds.sha256: a lowercase hex SHA-256`;
    const job = await h.queues.queue('prepare').getJob(id);
    expect(await job!.getState()).toBe('failed');
    expect(job!.failedReason).toBe(why);
    expect(store.attempts(id)).toBe(1); // the recipe allows 3: an unrecoverable error used one
    expect(store.info().error).toBe(`${id}: ${why} (log: ${store.logPath(id)})`);
    expect(store.doneRecord(id)).toBeUndefined();
    expect(readFileSync(store.logPath(id), 'utf8')).toContain(`ContractError: ${why}`);
  }, 120_000);
});
