/**
 * The memory plan at the worker: `ipa worker --recipe` prints it at start and refuses to start
 * when it cannot fit; without --recipe the agent plans each run at its first GPU job and a plan
 * that cannot fit fails the run with the numbers and the setting to change.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryGate } from '../../orchestrator/agent/memory-gate.js';
import { main } from '../../orchestrator/cli/main.js';
import { ExitCode } from '../../orchestrator/errors.js';
import { GiB } from '../../orchestrator/plan/memory-plan.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import { harness, type Harness } from '../helpers/harness.js';
import { redisUrl, uniquePrefix } from '../helpers/redis.js';
import { idOf, sampleRecipe, SAMPLE_QUEUES, waitFor } from '../integration/faults-support.js';

const REPO = join(import.meta.dirname, '..', '..');

/** A model folder holding only Qwen2-VL-7B's config.json: all a plan reads. */
function model7b(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ipa-7b-config-'));
  copyFileSync(join(REPO, 'docs', 'models', 'qwen2-vl-7b-instruct.config.json'), join(dir, 'config.json'));
  return dir;
}

const H100 = [
  { kind: 'cpu' as const },
  { kind: 'cuda' as const, index: 0, name: 'NVIDIA H100 80GB HBM3', memory_bytes: 79.6 * GiB },
];

describe('memory gate', () => {
  it('plans a run once per worker, from its recipe, model config and card; refuses one that cannot fit', () => {
    const base = model7b();
    const small = RecipeSchema.parse({
      name: 'r',
      model: { base, dtype: 'bfloat16' },
      generation: { backend: 'vllm', vllm: { gpu_memory_utilization: 0.25 } },
    });
    const gate = new MemoryGate({ queues: ['sample', 'verify'], trainProcesses: 1, devices: () => H100 });
    const first = gate.check('run-a', small, 'sample');
    expect(first.lines?.[0]).toBe('memory plan of run run-a on this worker:');
    expect(first.lines?.[1]).toMatch(/^generation \(vllm\) on NVIDIA H100 80GB HBM3 \(79\.6 GiB\): .* DOES NOT FIT$/);
    expect(first.refusal).toContain('raise generation.vllm.gpu_memory_utilization');
    expect(gate.check('run-a', small, 'verify')).toEqual({ refusal: first.refusal }); // printed once
    expect(gate.check('run-a', small, 'prepare')).toEqual({}); // not a GPU job
    const fine = RecipeSchema.parse({ name: 'r', model: { base, dtype: 'bfloat16' }, generation: { backend: 'vllm' } });
    expect(gate.check('run-b', fine, 'sample').refusal).toBeUndefined();
    expect(
      new MemoryGate({ queues: ['sample'], trainProcesses: 1, devices: () => H100, skip: true }).check(
        'run-a',
        small,
        'sample',
      ).refusal,
    ).toBeUndefined();
    // No card (a CPU worker): nothing to check; no config.json yet (a tiny model not built): checked at a later job.
    expect(
      new MemoryGate({ queues: ['sample'], trainProcesses: 1, devices: () => [{ kind: 'cpu' }] }).check(
        'run-a',
        small,
        'sample',
      ),
    ).toEqual({});
    const unbuilt = RecipeSchema.parse({ name: 'r', model: { base: join(base, 'missing') } });
    expect(
      new MemoryGate({ queues: ['sample'], trainProcesses: 1, devices: () => H100 }).check('run-c', unbuilt, 'sample'),
    ).toEqual({});
  });
});

describe('ipa worker and the memory plan', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    vi.restoreAllMocks();
  });

  it('--recipe: prints the plan at start and refuses to start when it cannot fit, naming the setting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipa-worker-plan-'));
    const file = join(dir, 'r.yaml');
    const base = model7b();
    const recipe = {
      name: 'r',
      model: { base, dtype: 'bfloat16' },
      allowed_roots: [base],
      data: { synthetic: { enabled: true } },
      generation: { backend: 'vllm', vllm: { gpu_memory_utilization: 0.25 } },
    };
    writeFileSync(file, stringify(recipe));
    const err: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    vi.spyOn(process.stderr, 'write').mockImplementation(
      (chunk: string | Uint8Array) => (err.push(String(chunk)), true),
    );
    const code = await main([
      'worker',
      '--queues',
      'sample,verify',
      '--recipe',
      file,
      '--card-gib',
      '80',
      '--redis-url',
      redisUrl(),
      '--prefix',
      uniquePrefix('plan'),
    ]);
    const text = err.join('\n');
    expect(code).toBe(ExitCode.invalidInput);
    expect(text).toContain('generation (vllm) on a 80 GiB card (--card-gib) (80.0 GiB)');
    expect(text).toMatch(/base weights \(once\) +15\.4 GiB/);
    expect(text).toContain('raise generation.vllm.gpu_memory_utilization');
  }, 120_000);

  it("a run whose plan cannot fit the card is refused at its first GPU job: the run fails with the plan's words", async () => {
    h = await harness('memgate', sampleRecipe());
    // The tiny model on a card of 1 MiB: its weights alone do not fit.
    await h.startAgent({ queues: SAMPLE_QUEUES, cardGib: 1 / 1024 });
    const store = await h.submit();
    const id = idOf(store, 'sample');
    const info = await waitFor(
      'the run to fail',
      () => (store.info().state === 'failed' ? store.info() : undefined),
      300_000,
    );
    expect(store.doneRecord(id)).toBeUndefined();
    expect(info.error ?? '').toContain(
      'memory plan: generation (hf) on a 0.0009765625 GiB card (--card-gib) cannot fit',
    );
    expect(info.error ?? '').toContain('lower sampling.batch_size and eval.batch_size');
  }, 300_000);
});
