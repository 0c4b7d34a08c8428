/**
 * Issue 27's "done when": a run started with `ipa submit`, worked by an `ipa worker` in another
 * process, and watched from a third: `ipa status --json` (and its words) shows the running
 * training job's step, loss and estimate, read from the run folder the worker writes. Real
 * processes, a real redis-server; the fake Python worker stands in for the stages (all instant
 * but train, which reports a step a second like a trainer until it is stopped).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalRedis } from '../../orchestrator/queue/local-redis.js';
import { fakeWorkspace } from '../helpers/fake-workspace.js';
import { IpaChild } from '../helpers/ipa-child.js';
import { ipaInProcess } from '../helpers/ipa-in-process.js';
import { uniquePrefix } from '../helpers/redis.js';
import { waitFor } from './faults-support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface RunningJob {
  job_id: string;
  stage: string;
  done: number;
  total: number;
  phase: string;
  worker: string;
  eta_ms?: number;
  metrics: Record<string, unknown>;
}

describe('a training job watched from another terminal', () => {
  it('ipa submit + ipa worker: ipa status --json shows the running train job step, loss and estimate', async () => {
    const w = fakeWorkspace();
    cleanup.push(() => w.remove());
    const redis = await LocalRedis.start();
    cleanup.push(() => redis.stop());
    const on = ['--redis-url', redis.url, '--prefix', uniquePrefix('train-progress')];

    const submit = new IpaChild(['submit', w.file, ...on], w.env);
    cleanup.push(() => submit.kill());
    expect(await submit.done(60_000), submit.output()).toBe(0);
    const dir = join(w.runsDir, submit.output().trim().split('\n').pop()!.trim());

    const worker = new IpaChild(['worker', ...on], {
      ...w.env,
      FAKE_STAGE_MS: '600000',
      FAKE_SLOW_STAGE: 'train',
    });
    cleanup.push(() => worker.kill());

    const status = async () => {
      const r = await ipaInProcess('status', dir, '--json');
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as { running: RunningJob[] };
    };
    const train = await waitFor(
      'the train job to report its third step',
      async () => (await status()).running.find((j) => j.stage === 'train' && j.done >= 3),
      180_000,
      500,
    );
    expect(train).toMatchObject({ total: 1000, phase: 'policy DPO' });
    expect(train.job_id).toMatch(/\.r1\.train\.s000$/);
    expect(train.metrics.loss).toBeCloseTo(0.7 / train.done, 4);
    expect(train.worker).toMatch(/\S/);
    // A step a second over 1000 steps: the estimate is minutes, not absent.
    expect(train.eta_ms).toBeGreaterThan(60_000);

    const words = await ipaInProcess('status', dir);
    expect(words.out).toMatch(/now: policy DPO \d+\/1000, loss 0\.\d+/);

    const { code } = await worker.stop('SIGTERM', 30_000);
    expect(code, worker.output()).toBe(0);
  }, 300_000);
});
