/**
 * JSON Schemas derived from the zod schemas, for the Python worker (`jsonschema` 4,
 * Draft 2020-12) and for editors. Output side: defaults are filled in by then, so every field
 * with a default is required, which is what a validated `recipe.json` or payload looks like.
 */
import { z } from 'zod';
import { StagePayloadSchema } from './payload.js';
import { RecipeSchema } from '../recipe/schema.js';

export type JsonSchema = Record<string, unknown>;

function toJson(schema: z.ZodType, id: string, title: string): JsonSchema {
  // Refinements (e.g. low <= high in a range) cannot be expressed; zod checks them on the Node side.
  const out = z.toJSONSchema(schema, { io: 'output', target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  return { ...out, $id: id, title };
}

/** The JSON Schema of a validated recipe (`recipe.json`). */
export function recipeJsonSchema(): JsonSchema {
  return toJson(RecipeSchema, 'https://ipa.local/schemas/recipe.json', 'ipa recipe');
}

/** The JSON Schema of a `stage` request's params, sent to Python in `configure`. */
export function stagePayloadJsonSchema(): JsonSchema {
  return toJson(StagePayloadSchema, 'https://ipa.local/schemas/stage-payload.json', 'ipa StagePayload');
}
