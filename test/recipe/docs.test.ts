import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RECIPE_DOCS_PATH, renderRecipeDocs } from '../../orchestrator/recipe/docs.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';
import { IMAGE_FORMS, SEED_ROW_FIELDS, SOURCE_FORMATS } from '../../orchestrator/recipe/seed-row-forms.js';

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

  it('lists the seed-row forms the loader reads: every field with its aliases in order, every image form and format', () => {
    const text = renderRecipeDocs();
    const section = text.slice(text.indexOf('\n## Seed rows\n'));
    expect(section.length).toBeLessThan(text.length);
    expect(section).toContain('| `reference` | `reference`, `answer`, `response` | **required** |');
    expect(section).toContain('| `task_type` | `task_type` | `general` |');
    for (const f of SEED_ROW_FIELDS)
      expect(section).toContain(`| \`${f.name}\` | ${f.aliases.map((a) => `\`${a}\``).join(', ')} |`);
    for (const f of IMAGE_FORMS) expect(section).toContain(`- ${f.doc}\n`);
    for (const [name, doc] of Object.entries(SOURCE_FORMATS)) expect(section).toContain(`- \`${name}\`: ${doc}\n`);
    expect(SOURCE_FORMATS.sharegpt).toContain('`conversations` (or `messages`)');
  });
});
