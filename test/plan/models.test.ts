import { describe, expect, it } from 'vitest';
import { stageModels } from '../../orchestrator/plan/models.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';

const recipe = (extra: Record<string, unknown> = {}) =>
  RecipeSchema.parse({ name: 'p', model: { base: '/m' }, ...extra });
const ctx = (files: string[]) => ({ abs: (p: string) => `/run/${p}`, exists: (p: string) => files.includes(p) });

describe('stage models (IPA roles)', () => {
  it('round 1 samples, revises and verifies with the initial model', () => {
    const m = stageModels(recipe(), 'sample', 1, ctx([]));
    expect(m.generator).toEqual({ base: '/m', adapter: null });
    expect(m.reviser).toEqual({ base: '/m', adapter: null });
  });

  it('round 2 uses the adapters trained after round 1 (self-evolution)', () => {
    const files = ['/run/round-1/models/policy/adapter_config.json', '/run/round-1/models/reviser/adapter_config.json'];
    const m = stageModels(recipe(), 'revise', 2, ctx(files));
    expect(m.generator).toEqual({ base: '/m', adapter: '/run/round-1/models/policy' });
    expect(m.reviser).toEqual({ base: '/m', adapter: '/run/round-1/models/reviser' });
    expect(m.verifier).toEqual({ base: '/m', adapter: null });
  });

  it('the initial model is the SFT checkpoint when warm-up is on', () => {
    const m = stageModels(recipe({ warmup: { sft: { enabled: true } } }), 'sample', 1, ctx([]));
    expect(m.generator.base).toBe('/run/models/sft');
  });

  it('falls back to the newest earlier adapter when a round trained nothing', () => {
    const m = stageModels(recipe(), 'sample', 3, ctx(['/run/round-1/models/policy/adapter_config.json']));
    expect(m.generator.adapter).toBe('/run/round-1/models/policy');
  });

  it("eval after round r uses round r's policy; round 0 the initial model", () => {
    const files = ['/run/round-2/models/policy/adapter_config.json'];
    expect(stageModels(recipe(), 'eval', 2, ctx(files)).generator.adapter).toBe('/run/round-2/models/policy');
    expect(stageModels(recipe(), 'eval', 0, ctx(files)).generator.adapter).toBeNull();
  });

  it('training starts fresh from the initial model unless adapters_from is previous', () => {
    const files = ['/run/round-1/models/policy/adapter_config.json'];
    expect(stageModels(recipe(), 'train', 2, ctx(files)).generator.adapter).toBeNull();
    const prev = stageModels(
      recipe({ training: { adapters_from: 'previous', reference_model: 'round_start' } }),
      'train',
      2,
      ctx(files),
    );
    expect(prev.generator.adapter).toBe('/run/round-1/models/policy');
    expect(prev.reference?.adapter).toBe('/run/round-1/models/policy');
  });

  it("training gets the round's own verifier, the one its verifier gate audits", () => {
    const files = ['/run/round-1/models/policy/adapter_config.json'];
    expect(stageModels(recipe(), 'train', 2, ctx(files)).verifier).toEqual({ base: '/m', adapter: null });
    const judging = recipe({ verifier: { model: 'generator' } });
    expect(stageModels(judging, 'train', 2, ctx(files)).verifier).toEqual({
      base: '/m',
      adapter: '/run/round-1/models/policy',
    });
    expect(stageModels(judging, 'train', 2, ctx(files)).verifier).toEqual(
      stageModels(judging, 'verify', 2, ctx(files)).verifier,
    );
  });
});
