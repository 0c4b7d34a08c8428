/**
 * The JSON Schemas the Python worker validates against: well-formed Draft 2020-12 (checked by
 * Python's `jsonschema`, the validator the worker uses), and what Node produces validates.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pythonCommand } from '../../orchestrator/cli/python.js';
import { recipeJsonSchema, stagePayloadJsonSchema } from '../../orchestrator/contract/json-schema.js';
import { loadRecipe } from '../../orchestrator/recipe/load.js';
import { StagePayloadSchema, type StagePayload } from '../../orchestrator/contract/payload.js';
import { StageResultSchema } from '../../orchestrator/contract/stage-result.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'recipes');

/** Runs Python's jsonschema: checks each schema, then validates each instance; returns its errors. */
function pythonValidate(cases: Array<{ schema: unknown; instance: unknown }>): string[][] {
  const script = `
import json, sys, jsonschema
out = []
for c in json.load(sys.stdin):
    cls = jsonschema.validators.validator_for(c["schema"])
    cls.check_schema(c["schema"])
    assert cls is jsonschema.Draft202012Validator, cls
    out.append([e.message for e in cls(c["schema"]).iter_errors(c["instance"])])
print(json.dumps(out))
`;
  const { python, env } = pythonCommand();
  return JSON.parse(
    execFileSync(python, ['-c', script], { input: JSON.stringify(cases), env, encoding: 'utf8' }),
  ) as string[][];
}

function payload(over: Partial<StagePayload> = {}): StagePayload {
  const { recipe } = loadRecipe(join(fixtures, 'full.yaml'));
  const model = { base: recipe.model.base, adapter: null };
  return {
    run_id: 'full-example-1',
    run_dir: '/runs/full-example-1',
    job_id: 'full-example-1.r1.sample.s000',
    round: 1,
    stage: 'sample',
    shard: 0,
    attempt: 1,
    recipe,
    inputs: { seeds: '/runs/full-example-1/round-1/seeds/shard-000.jsonl' },
    outputs: { responses: '/runs/full-example-1/round-1/responses/shard-000.jsonl' },
    models: {
      generator: model,
      reviser: { base: model.base, adapter: '/runs/x/round-1/models/reviser' },
      verifier: model,
    },
    options: { contrastive: true, revision: true, reference_guided: false, batch_scale: 1 },
    ...over,
  };
}

describe('JSON Schema export', () => {
  it('declares Draft 2020-12, an id and a title', () => {
    for (const s of [recipeJsonSchema(), stagePayloadJsonSchema()]) {
      expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(s.$id).toMatch(/^https:\/\//);
      expect(typeof s.title).toBe('string');
      expect(s.additionalProperties).toBe(false);
    }
  });

  it('is output-side: fields with defaults are required and carry the default', () => {
    const s = recipeJsonSchema() as { required: string[]; properties: Record<string, { default?: unknown }> };
    expect(s.required).toEqual(expect.arrayContaining(['name', 'model', 'seed', 'rounds', 'sampling']));
    expect(s.properties.seed.default).toBe(0);
  });

  it('Python jsonschema accepts both schemas and validates what Node produces, and rejects bad instances', () => {
    const minimal = loadRecipe(join(fixtures, 'minimal.yaml')).recipe;
    const full = loadRecipe(join(fixtures, 'full.yaml')).recipe;
    const good = payload();
    const trainPayload = payload({
      stage: 'train',
      inputs: { pairs: ['/a.jsonl', '/b.jsonl'], feedback_pairs: [] },
      models: { ...good.models, reference: good.models.verifier },
    });
    const results = pythonValidate([
      { schema: recipeJsonSchema(), instance: JSON.parse(JSON.stringify(minimal)) },
      { schema: recipeJsonSchema(), instance: JSON.parse(JSON.stringify(full)) },
      { schema: stagePayloadJsonSchema(), instance: good },
      { schema: stagePayloadJsonSchema(), instance: trainPayload },
      { schema: recipeJsonSchema(), instance: { ...full, generation: { ...full.generation, backend: 'tensorrt' } } },
      { schema: stagePayloadJsonSchema(), instance: { ...good, stage: 'advance' } },
      { schema: stagePayloadJsonSchema(), instance: { ...good, run_dir: 'relative/dir', extra: 1 } },
    ]);
    expect(results.slice(0, 4)).toEqual([[], [], [], []]);
    expect(results[4].join('\n')).toContain("'tensorrt' is not one of ['hf', 'vllm']");
    expect(results[5].length).toBeGreaterThan(0);
    expect(results[6].length).toBe(2);
  });
});

describe('stage payload and result schemas (Node side)', () => {
  it('a payload built from a loaded recipe parses unchanged', () => {
    const p = payload();
    expect(StagePayloadSchema.parse(p)).toEqual(p);
  });

  it('refuses relative paths, unknown fields, the Node-only advance stage and a zero batch scale', () => {
    const p = payload();
    expect(StagePayloadSchema.safeParse({ ...p, outputs: { responses: 'rel.jsonl' } }).success).toBe(false);
    expect(StagePayloadSchema.safeParse({ ...p, surprise: true }).success).toBe(false);
    expect(StagePayloadSchema.safeParse({ ...p, stage: 'advance' }).success).toBe(false);
    expect(StagePayloadSchema.safeParse({ ...p, options: { ...p.options, batch_scale: 0 } }).success).toBe(false);
  });

  it('a stage result gets empty metrics and failed items by default and checks hashes', () => {
    const out = { path: '/r/x.jsonl', rows: 3, sha256: 'a'.repeat(64) };
    expect(StageResultSchema.parse({ outputs: { x: out } })).toEqual({
      outputs: { x: out },
      metrics: {},
      failed_items: [],
    });
    expect(StageResultSchema.safeParse({ outputs: { x: { ...out, sha256: 'xyz' } } }).success).toBe(false);
    expect(StageResultSchema.safeParse({ outputs: { x: { ...out, rows: -1 } } }).success).toBe(false);
  });
});
