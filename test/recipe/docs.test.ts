import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RECIPE_DOCS_PATH, renderRecipeDocs } from '../../orchestrator/recipe/docs.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';

describe('docs/recipe.md', () => {
  it('equals the text generated from the schema (run `npm run docs:recipe` after changing it)', () => {
    expect(readFileSync(RECIPE_DOCS_PATH, 'utf8')).toBe(renderRecipeDocs());
  });

  it('has a row for every top-level field, with defaults and required markers', () => {
    const text = renderRecipeDocs();
    for (const key of Object.keys(RecipeSchema.shape)) expect(text).toContain(`| \`${key}\` |`);
    expect(text).toContain('| `model.base` | string | **required** |');
    expect(text).toContain('| `sampling.top_p` | number (> 0, ≤ 1) | `0.95` |');
    expect(text).toContain('| `sampling.perturbations[kind=blur].radius` | [number, number] | `[1,3]` |');
    expect(text).toContain('| `rounds` | object[] (≥ 1, ≤ 10 items) |');
  });

  it('escapes pipes so enum types stay in one table cell', () => {
    const row = renderRecipeDocs()
      .split('\n')
      .find((l) => l.startsWith('| `generation.backend`'))!;
    expect(row).toContain('"hf" \\| "vllm"');
    expect(row.split(/(?<!\\)\|/).length).toBe(6);
  });
});
