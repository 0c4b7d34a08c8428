import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ipaInProcess } from '../helpers/ipa-in-process.js';
import { parse } from 'yaml';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'recipes');

const ipa = ipaInProcess;

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A recipe file in a fresh folder (its paths resolve there). */
function recipeFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ipa-validate-'));
  dirs.push(dir);
  const file = join(dir, 'recipe.yaml');
  writeFileSync(file, text);
  writeFileSync(join(dir, 'seeds.jsonl'), '');
  return file;
}

const SMALL = 'name: small\nmodel:\n  base: ./model\n  build_tiny: true\n';
const SEEDS = 'data:\n  sources:\n    - path: seeds.jsonl\n';

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
    expect(body.issues[0]).toMatchObject({
      line: 10,
      column: 3,
      path: 'sampling.tempreature',
      message: 'unknown key',
      hint: 'did you mean "temperature"?',
    });
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

  it('warns, at the field, when the recipe evaluates nothing; the recipe stays valid', async () => {
    const file = recipeFile(`${SMALL}data:\n  synthetic:\n    enabled: true\neval:\n  after: none\n`);
    const r = await ipa('validate', file);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ok: small:/);
    expect(r.err).toBe(
      `warning: ${file}:9:10 eval.after: this run will evaluate nothing (eval.after is none: no round is evaluated); ipa status and the report show "–" for every round (add eval.benchmarks, enable data.synthetic or eval.lmms_eval, or set eval.after to every_round or final)`,
    );
    const json = JSON.parse((await ipa('validate', file, '--json')).out);
    expect(json.warnings).toEqual([
      expect.objectContaining({ path: 'eval.after', line: 9, message: expect.stringContaining('evaluate nothing') }),
    ]);

    const none = await ipa('validate', recipeFile(SMALL + SEEDS));
    expect(none.err).toContain(
      'eval: this run will evaluate nothing (there is nothing to evaluate: no eval.benchmarks, no synthetic held-out split, lmms-eval off)',
    );
    expect((await ipa('validate', join(fixtures, 'minimal.yaml'))).err).toBe('');
  });

  it(
    "asks the worker's Python whether lmms-eval is installed when the recipe enables it",
    { timeout: 60_000 },
    async () => {
      const file = recipeFile(
        `${SMALL}${SEEDS}eval:\n  lmms_eval:\n    enabled: true\n    tasks: [pope]\n    limit: 8\n`,
      );
      // The project's environment has it: valid, with a warning that 8 documents are not the task.
      const ok = await ipa('validate', file);
      expect(ok.code).toBe(0);
      expect(ok.err).toContain('eval.lmms_eval.limit: lmms-eval evaluates at most 8 documents per task');

      // A Python without it (the system's): invalid input, naming the interpreter and the way out.
      vi.stubEnv('IPA_PYTHON', 'python3');
      const missing = await ipa('validate', file);
      expect(missing.code).toBe(3);
      expect(missing.err).toContain(
        `${file}:10:14 eval.lmms_eval.enabled: lmms-eval is enabled, but it is not installed in the worker's Python (`,
      );
      expect(missing.err).toContain('set eval.lmms_eval.enabled: false');

      // A Python that cannot be started says so, instead of a stack trace.
      vi.stubEnv('IPA_PYTHON', '/nonexistent/python');
      const broken = await ipa('validate', file);
      expect(broken.code).toBe(3);
      expect(broken.err).toContain(
        "lmms-eval is enabled, but could not ask the worker's Python (/nonexistent/python) what it has installed",
      );
      expect(broken.err).not.toMatch(/\n\s+at /);

      // --offline checks a recipe before the workers' environment is set up: the same finding is a warning.
      vi.stubEnv('IPA_PYTHON', 'python3');
      const offline = await ipa('validate', '--offline', file);
      expect(offline.code).toBe(0);
      expect(offline.err).toMatch(
        /^warning: .*:10:14 eval\.lmms_eval\.enabled: lmms-eval is enabled, but it is not installed in the worker's Python/m,
      );
    },
  );

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
