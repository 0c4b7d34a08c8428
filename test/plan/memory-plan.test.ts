/**
 * The memory plan: parameter counts from a config.json (checked against transformers' own count
 * of Qwen2-VL-7B on the meta device), what each worker kind holds, and the refusals naming the
 * setting to change.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  GiB,
  kvBytesPerToken,
  loraParams,
  memoryPlans,
  modelShape,
  paramCounts,
  planLines,
  sequenceBound,
} from '../../orchestrator/plan/memory-plan.js';
import { RecipeSchema, type Recipe } from '../../orchestrator/recipe/schema.js';

const REPO = join(import.meta.dirname, '..', '..');
const shape = modelShape(
  JSON.parse(readFileSync(join(REPO, 'docs', 'models', 'qwen2-vl-7b-instruct.config.json'), 'utf8')),
);
const H100 = { name: 'H100', bytes: 79.6 * GiB };

function recipe(over: Record<string, unknown> = {}): Recipe {
  return RecipeSchema.parse({ name: 'r', model: { base: '/m', dtype: 'bfloat16', max_pixels: 1003520 }, ...over });
}

describe('memory plan', () => {
  it('counts Qwen2-VL-7B as transformers does, and its LoRA adapter and KV cache', () => {
    // Qwen2VLForConditionalGeneration on the meta device (workers/ipa_worker/tools/gpu_check/flops.py): 8,291,375,616.
    expect(paramCounts(shape)).toEqual({ language: 7_615_616_512, vision: 675_759_104, total: 8_291_375_616 });
    // r 16 on q, k, v, o, gate, up, down of 28 layers.
    expect(loraParams(shape, 16, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'])).toBe(
      40_370_176,
    );
    expect(kvBytesPerToken(shape, 2)).toBe(2 * 28 * 4 * 128 * 2); // 56 KiB
    // 1280 visual tokens per image at 1,003,520 px (+2 for its start and end), the text allowance, quoted and generated tokens.
    expect(sequenceBound(recipe(), shape)).toBe(1282 + 512 + 256 + (128 + 128) + 128);
    expect(sequenceBound(recipe({ generation: { vllm: { max_model_len: 2048 } } }), shape)).toBe(2048);
  });

  it('counts the tiny test model as its own safetensors files hold it', () => {
    const dir = join(REPO, '.cache', 'test-models', 'tiny-qwen2vl'); // built by the tests' global setup
    let stored = 0;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.safetensors'))) {
      const buf = readFileSync(join(dir, f));
      const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8')) as Record<
        string,
        { shape?: number[] }
      >;
      for (const [k, t] of Object.entries(header))
        if (k !== '__metadata__') stored += t.shape!.reduce((a, d) => a * d, 1);
    }
    expect(paramCounts(modelShape(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')))).total).toBe(stored);
  });

  it('a vllm generation worker holds the base once inside its share and the KV cache fills the rest', () => {
    const [plan] = memoryPlans(recipe({ generation: { backend: 'vllm' } }), shape, H100, [
      'sample',
      'verify',
      'revise',
      'eval',
    ]);
    expect(plan.part).toBe('generation (vllm)');
    const bytes = Object.fromEntries(plan.items.map((i) => [i.what, i.bytes]));
    expect(bytes['base weights (once)']).toBe(8_291_375_616 * 2);
    const inside = plan.items.filter((i) => !i.what.includes('outside')).reduce((a, i) => a + i.bytes, 0);
    expect(inside).toBeCloseTo(0.9 * H100.bytes, -3); // the engine's share, default 0.9
    expect(plan.fits).toBe(true);
    expect(plan.notes[0]).toMatch(/^the KV cache holds [\d,]+ sequences of 2,434 tokens at once$/);
  });

  it('refuses a vLLM share too small for one sequence, naming the setting', () => {
    const [plan] = memoryPlans(
      recipe({ generation: { backend: 'vllm', vllm: { gpu_memory_utilization: 0.25 } } }),
      shape,
      H100,
      ['sample'],
    );
    expect(plan.fits).toBe(false);
    expect(plan.problem).toContain('raise generation.vllm.gpu_memory_utilization');
    expect(planLines(plan).at(-1)).toMatch(/^ {2}cannot fit: the engine's share \(0\.25 x 79\.6 GiB = 19\.9 GiB\)/);
    const [greedy] = memoryPlans(
      recipe({ generation: { backend: 'vllm', vllm: { gpu_memory_utilization: 1 } } }),
      shape,
      H100,
      ['sample'],
    );
    expect(greedy.problem).toContain('lower generation.vllm.gpu_memory_utilization');
  });

  it("an hf generation worker: one base, its adapters, the batch's KV cache and activations; too large a batch is refused", () => {
    const [plan] = memoryPlans(recipe({ sampling: { batch_size: 32 } }), shape, H100, ['sample', 'verify']);
    expect(plan.part).toBe('generation (hf)');
    expect(plan.items.map((i) => i.what)).toEqual([
      'base weights (once)',
      'LoRA adapters',
      'KV cache',
      'activations',
      'CUDA context and allocator slack',
    ]);
    expect(plan.items[1].bytes).toBe(4 * 40_370_176 * 4);
    expect(plan.fits).toBe(true);
    const [big] = memoryPlans(recipe({ sampling: { batch_size: 256 } }), shape, H100, ['sample']);
    expect(big.fits).toBe(false);
    expect(big.problem).toMatch(
      /^needs [\d.]+ GiB of H100's 79\.6 GiB: lower sampling\.batch_size and eval\.batch_size \(256 now\)/,
    );
  });

  it('a worker serving generation and training plans each process alone; a control worker plans nothing', () => {
    const plans = memoryPlans(
      recipe({ training: { dpo: { batch_size: 2, max_length: 2048, gradient_checkpointing: true } } }),
      shape,
      H100,
      ['sample', 'train'],
    );
    expect(plans.map((p) => p.part)).toEqual(['generation (hf)', 'train (LoRA DPO)']);
    expect(plans[1].items.find((i) => i.what.startsWith('adapter'))?.bytes).toBe(40_370_176 * 16);
    const unchecked = memoryPlans(
      recipe({ training: { dpo: { batch_size: 8, max_length: 4096, gradient_checkpointing: false } } }),
      shape,
      H100,
      ['train'],
    )[0];
    expect(unchecked.fits).toBe(false);
    expect(unchecked.problem).toContain('turn on training.dpo.gradient_checkpointing');
    expect(memoryPlans(recipe(), shape, H100, ['control', 'prepare', 'pair'])).toEqual([]);
  });
});
