import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ipaInProcess } from '../helpers/ipa-in-process.js';
import { parse } from 'yaml';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'recipes');

const ipa = ipaInProcess;

afterEach(() => vi.restoreAllMocks());

describe('ipa validate', () => {
  it('prints ok and a summary for a valid recipe', async () => {
    const r = await ipa('validate', join(fixtures, 'minimal.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ok: tiny-demo: 2 rounds \(automated, reference-guided\)/);
  });

  it('prints every issue, one per line, and exits 3', async () => {
    const file = join(fixtures, 'bad', 'syntax-bad-indent.yaml');
    const r = await ipa('validate', file);
    expect(r.code).toBe(3);
    expect(r.err.split('\n')).toHaveLength(2);
    expect(r.err).toContain(`${file}:3:9 YAML syntax error`);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('--json gives the issues as data', async () => {
    const r = await ipa('validate', join(fixtures, 'bad', 'unknown-key-typo.yaml'), '--json');
    expect(r.code).toBe(3);
    const body = JSON.parse(r.out);
    expect(body.ok).toBe(false);
    expect(body.issues[0]).toMatchObject({ line: 10, column: 3, path: 'sampling.tempreature', message: 'unknown key', hint: 'did you mean "temperature"?' });
  });

  it('--json on a valid recipe gives the normalised recipe', async () => {
    const r = await ipa('validate', '--json', join(fixtures, 'full.yaml'));
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out);
    expect(body.ok).toBe(true);
    expect(body.recipe.model.base).toBe(join(fixtures, 'assets', 'model'));
  });

  it('a missing file is invalid input, not a crash', async () => {
    const r = await ipa('validate', join(fixtures, 'nope.yaml'));
    expect(r.code).toBe(3);
    expect(r.err).toContain('cannot read recipe: no such file');
  });

  it('usage errors exit 2', async () => {
    expect((await ipa('validate')).code).toBe(2);
    expect((await ipa('validate', 'a.yaml', 'b.yaml')).code).toBe(2);
    expect((await ipa('validate', '--bogus', 'a.yaml')).code).toBe(2);
  });

  it('--help describes it', async () => {
    const r = await ipa('validate', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: ipa validate RECIPE');
  });
});

describe('ipa recipe', () => {
  it('schema prints the recipe JSON Schema; --payload the stage payload one', async () => {
    const a = await ipa('recipe', 'schema');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out).title).toBe('ipa recipe');
    const b = await ipa('recipe', 'schema', '--payload');
    expect(JSON.parse(b.out).properties.stage.enum).toContain('sample');
  });

  it('defaults prints a complete recipe that parses to itself', async () => {
    const r = await ipa('recipe', 'defaults');
    expect(r.code).toBe(0);
    const data = parse(r.out);
    expect(RecipeSchema.parse(data)).toEqual(data);
    expect(data.rounds).toHaveLength(3);
  });

  it('docs prints the field reference', async () => {
    const r = await ipa('recipe', 'docs');
    expect(r.code).toBe(0);
    expect(r.out).toContain('# Recipe reference');
  });

  it('a missing or unknown sub-command is a usage error', async () => {
    expect((await ipa('recipe')).code).toBe(2);
    expect((await ipa('recipe', 'frobnicate')).code).toBe(2);
    expect((await ipa('recipe', 'defaults', '--payload')).code).toBe(2);
  });
});
