/**
 * The files the Python worker ships from the TypeScript contract, so neither side restates the
 * other: the JSON Schemas (recipe, stage payload), the recipe with every default filled in, the
 * path templates of every stage's outputs, the bridge protocol's messages, the seed-row forms the
 * data loader accepts, and typed Python views of a recipe (dataclasses). A test compares the committed files with this
 * output (`test/contract/generated.test.ts`); regenerate with `npm run contract`.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { protocolSpec, recipeJsonSchema, stagePayloadJsonSchema } from './json-schema.js';
import { recipePythonTypes } from './python-types.js';
import { RecipeSchema } from '../recipe/schema.js';
import { seedRowForms } from '../recipe/seed-row-forms.js';
import { stageOutputs } from '../plan/paths.js';
import { STAGES } from '../plan/stages.js';

/** Where the generated files live: inside the Python package, which ships them. */
export const CONTRACT_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'workers',
  'ipa_worker',
  'contract',
);

/** Values of the two fields without a default, so the defaults file is a complete recipe. */
export const DEFAULTS_PLACEHOLDERS = { name: 'defaults', model: { base: '/path/to/model' } } as const;

// Sentinels turned into Python format fields: `round-{round}/responses/shard-{shard:03d}.jsonl`.
const ROUND = 98_761;
const SHARD = 987;

/** Output path templates of each Python stage, relative to the run directory. */
export function stagePathTemplates(): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const stage of STAGES) {
    if (stage === 'advance') continue;
    out[stage] = Object.fromEntries(
      Object.entries(stageOutputs(stage, ROUND, SHARD)).map(([k, v]) => [
        k,
        v.replaceAll(String(ROUND), '{round}').replaceAll(String(SHARD), '{shard:03d}'),
      ]),
    );
  }
  return out;
}

/** File name → content of every generated file. */
export function contractFiles(): Record<string, string> {
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  return {
    'recipe.schema.json': json(recipeJsonSchema()),
    'stage_payload.schema.json': json(stagePayloadJsonSchema()),
    'recipe_defaults.json': json(RecipeSchema.parse(DEFAULTS_PLACEHOLDERS)),
    'stage_paths.json': json(stagePathTemplates()),
    'protocol.json': json(protocolSpec()),
    'seed_row_forms.json': json(seedRowForms()),
    'recipe_types.py': recipePythonTypes(recipeJsonSchema()),
  };
}

export function writeContractFiles(dir = CONTRACT_DIR): string[] {
  return Object.entries(contractFiles()).map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  });
}

if (
  process.argv[1] &&
  resolve(process.argv[1]) === fileURLToPath(import.meta.url) &&
  process.argv.includes('--write')
) {
  for (const p of writeContractFiles()) console.log(`wrote ${p}`);
}
