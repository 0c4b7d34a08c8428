/**
 * JSON Schemas derived from the zod schemas, for the Python worker (`jsonschema` 4,
 * Draft 2020-12) and for editors. Output side: defaults are filled in by then, so every field
 * with a default is required, which is what a validated `recipe.json` or payload looks like.
 */
import { z } from 'zod';
import { StagePayloadSchema } from './payload.js';
import {
  CancelMessageSchema,
  ErrorMessageSchema,
  LogMessageSchema,
  MAX_LINE_BYTES,
  METHODS,
  OrchestratorMessageSchema,
  ProgressMessageSchema,
  PROTOCOL_VERSION,
  ReadyMessageSchema,
  RequestMessageSchema,
  ResultMessageSchema,
  WorkerMessageSchema,
} from './protocol.js';
import { RecipeSchema } from '../recipe/schema.js';

export type JsonSchema = Record<string, unknown>;

function toJson(schema: z.ZodType, id: string, title: string, io: 'input' | 'output' = 'output'): JsonSchema {
  // Refinements (e.g. low <= high in a range) cannot be expressed; zod checks them on the Node side.
  const out = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
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

/** The `type` of each message of a discriminated union, in order. */
const messageTypes = (union: z.ZodDiscriminatedUnion): string[] =>
  union.options.map((o) => String((o as z.ZodObject).shape.type.value));

/**
 * The bridge protocol for Python: its version, line limit and methods, which message types each
 * side sends, and the JSON Schema of each message as it is on the wire (zod's input side: the
 * `ready` message's versions may hold nulls that Node drops on parsing).
 */
export function protocolSpec(): JsonSchema {
  const messages = {
    ready: ReadyMessageSchema,
    progress: ProgressMessageSchema,
    log: LogMessageSchema,
    result: ResultMessageSchema,
    error: ErrorMessageSchema,
    request: RequestMessageSchema,
    cancel: CancelMessageSchema,
  };
  return {
    version: PROTOCOL_VERSION,
    max_line_bytes: MAX_LINE_BYTES,
    methods: [...METHODS],
    from_worker: messageTypes(WorkerMessageSchema),
    from_orchestrator: messageTypes(OrchestratorMessageSchema),
    messages: Object.fromEntries(
      Object.entries(messages).map(([type, schema]) => [
        type,
        toJson(schema, `https://ipa.local/schemas/protocol/${type}.json`, `ipa ${type} message`, 'input'),
      ]),
    ),
  };
}
