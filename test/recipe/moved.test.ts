import { describe, expect, it } from 'vitest';
import { withoutMovedSettings } from '../../orchestrator/recipe/moved.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';

describe("withoutMovedSettings (an old run directory's recipe.json)", () => {
  const old = () => ({
    name: 'old',
    model: { base: '/m' },
    orchestration: { attempts: 3, lock_duration_ms: 300000 },
    training: { dpo: { beta: 0.2, lora: { r: 8, alpha: 16 } } },
  });

  it('drops a setting that left the recipe and carries a renamed one to its new place', () => {
    const data = old();
    const out = withoutMovedSettings(data);
    expect(out.orchestration).toEqual({ attempts: 3 });
    expect(out.training).toEqual({ dpo: { beta: 0.2 }, lora: { r: 8, alpha: 16 } });
    expect(data.training.dpo.lora).toEqual({ r: 8, alpha: 16 }); // the input is left as it is
    expect(RecipeSchema.parse(out).training.lora).toMatchObject({ r: 8, alpha: 16 });
  });

  it('carries the backend and its engine settings from sampling to generation', () => {
    const out = withoutMovedSettings({
      name: 'old',
      model: { base: '/m' },
      sampling: { backend: 'vllm', vllm: { max_model_len: 2048 }, num_normal: 2 },
    });
    expect(out).toEqual({
      name: 'old',
      model: { base: '/m' },
      sampling: { num_normal: 2 },
      generation: { backend: 'vllm', vllm: { max_model_len: 2048 } },
    });
    expect(RecipeSchema.parse(out).generation).toEqual({
      backend: 'vllm',
      vllm: { gpu_memory_utilization: 0.9, max_model_len: 2048 },
    });
  });

  it('keeps the new place when both are set, and leaves a recipe without them alone', () => {
    const both = { ...old(), training: { dpo: { lora: { r: 8 } }, lora: { r: 64 } } };
    expect(withoutMovedSettings(both).training).toEqual({ dpo: {}, lora: { r: 64 } });
    expect(withoutMovedSettings({ name: 'x', model: { base: '/m' } })).toEqual({ name: 'x', model: { base: '/m' } });
  });
});
