/**
 * A running job's progress in the run folder, as every watcher reads it: the estimate from its
 * phase's rate, the keep-alive that tells a quiet job from a dead agent, which files count as
 * running, and `ipa status` (words and --json) showing step, loss and estimate without Redis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runningLine } from '../../orchestrator/cli/render.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import {
  JobProgressFile,
  liveJobProgress,
  PhaseRate,
  readJobProgress,
  STALE_AFTER_MS,
  type JobProgressRecord,
} from '../../orchestrator/store/job-progress.js';
import { atomicWriteJson } from '../../orchestrator/store/atomic.js';
import { RunStore } from '../../orchestrator/store/run-store.js';
import { ipaInProcess as ipa } from '../helpers/ipa-in-process.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `ipa-${name}-`));
  dirs.push(d);
  return d;
};

function makeRun(id: string): RunStore {
  const recipeFile = join(temp('recipe'), 'r.yaml');
  writeFileSync(recipeFile, 'name: s\nmodel: {base: /m}\n');
  return RunStore.create({
    runsDir: join(temp('runs'), 'runs'),
    recipe: RecipeSchema.parse({ name: 's', model: { base: '/m' } }),
    recipeFile,
    queuePrefix: 'p',
    id,
  });
}

function progressFile(s: RunStore, jobId: string, at: number, extra: Partial<JobProgressRecord> = {}): void {
  const iso = new Date(at).toISOString();
  atomicWriteJson(join(s.dir, 'progress', `${jobId}.json`), {
    job_id: jobId,
    worker: 'gpu-1',
    attempt: 2,
    started_at: new Date(at - 25 * 60_000).toISOString(),
    updated_at: iso,
    reported_at: iso,
    done: 120,
    total: 500,
    metrics: { phase: 'policy DPO', loss: 0.4123, reward_accuracy: 0.62, tokens_per_s: 1830.4 },
    ...extra,
  });
}

describe('the estimate of a running phase', () => {
  it('is the time its remaining steps need at the rate measured since the phase began, and starts again with a new phase', () => {
    const r = new PhaseRate();
    const p = (done: number, total: number, phase = 'policy DPO') => ({ done, total, metrics: { phase } });
    expect(r.etaMs(p(10, 110), 0)).toBeUndefined(); // the first count only marks the start
    expect(r.etaMs(p(20, 110), 5_000)).toBe(45_000); // 10 steps in 5 s: 90 steps left need 45 s
    expect(r.etaMs(p(60, 110), 10_000)).toBe(10_000); // 50 steps in 10 s: the 50 left need 10 s
    expect(r.etaMs(p(0, 40, 'reference log-probs'), 11_000)).toBeUndefined(); // a new phase starts its own clock
    expect(r.etaMs(p(4, 40, 'reference log-probs'), 13_000)).toBe(18_000);
    expect(r.etaMs({ done: 3, total: 0, metrics: {} }, 14_000)).toBeUndefined(); // no total, no estimate
  });
});

describe("a job's progress file", () => {
  it("holds the last report with its estimate; a quiet job's file is rewritten by the keep-alive; it goes when the try ends", async () => {
    const s = makeRun('pf');
    const f = new JobProgressFile(
      s.dir,
      { job_id: 'pf.r1.train.s000', worker: 'w', attempt: 1, started_at: new Date().toISOString() },
      0,
      40,
    );
    f.push({ done: 1, total: 100, metrics: { phase: 'policy DPO', loss: 0.7 } });
    await new Promise((r) => setTimeout(r, 30));
    f.push({ done: 4, total: 100, metrics: { phase: 'policy DPO', loss: 0.6 } });
    const [first] = readJobProgress(s.dir);
    expect(first).toMatchObject({ done: 4, total: 100, metrics: { loss: 0.6 } });
    expect(first.eta_ms).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 150)); // the stage says nothing: the keep-alive still writes
    const [later] = readJobProgress(s.dir);
    expect(later.reported_at).toBe(first.reported_at);
    expect(Date.parse(later.updated_at)).toBeGreaterThan(Date.parse(first.updated_at));
    f.close();
    expect(readJobProgress(s.dir)).toEqual([]);
  });
});

describe('jobs running now', () => {
  it('are the fresh files of jobs without a done record in a run that goes on; the estimate counts down from the report', () => {
    const s = makeRun('lv');
    const now = Date.now();
    progressFile(s, 'lv.r1.train.s000', now - 10_000, { eta_ms: 60_000 });
    progressFile(s, 'lv.r1.sample.s001', now - STALE_AFTER_MS - 1000); // its agent was killed
    progressFile(s, 'lv.r1.verify.s000', now - 1000);
    s.writeDone({
      job_id: 'lv.r1.verify.s000',
      stage: 'verify',
      round: 1,
      shard: 0,
      outputs: {},
      metrics: {},
      failed_items: [],
      attempts: 1,
      started_at: '',
      finished_at: '',
      duration_ms: 0,
      worker: 'w',
    });
    progressFile(s, 'other.r1.train.s000', now - 1000); // not this run's
    const live = liveJobProgress(s, now);
    expect(live.map((j) => j.job_id)).toEqual(['lv.r1.train.s000']);
    expect(live[0]).toMatchObject({
      round: 1,
      stage: 'train',
      shard: 0,
      phase: 'policy DPO',
      done: 120,
      total: 500,
      eta_ms: 50_000,
    });
    expect(runningLine(live[0], now)).toBe(
      '      now: policy DPO 120/500, loss 0.412, reward acc 62%, 1830 tok/s, ~50 s left (25m10s, attempt 2, worker gpu-1)',
    );
    s.setState('completed');
    expect(liveJobProgress(s, now)).toEqual([]);
  });

  it('`ipa status` shows a running job under its stage, and --json lists it, from the run folder alone', async () => {
    const s = makeRun('st');
    progressFile(s, 'st.r0.prepare.s000', Date.now(), {
      done: 3,
      total: 8,
      metrics: { phase: 'warm-up SFT', loss: 0.115 },
      attempt: 1,
    });
    const words = await ipa('status', s.dir);
    expect(words.code).toBe(0);
    const lines = words.out.split('\n');
    const at = lines.findIndex((l) => l.trimStart().startsWith('prepare'));
    expect(lines[at + 1]).toMatch(/^ {6}now: warm-up SFT 3\/8, loss 0\.115 \(25m\d\ds, worker gpu-1\)$/);
    const json = await ipa('status', s.dir, '--json');
    expect(JSON.parse(json.out).running).toMatchObject([
      {
        job_id: 'st.r0.prepare.s000',
        stage: 'prepare',
        done: 3,
        total: 8,
        phase: 'warm-up SFT',
        metrics: { loss: 0.115 },
      },
    ]);
  });
});
