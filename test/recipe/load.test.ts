import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closest, formatIssue, formatPath, levenshtein, RecipeError } from '../../orchestrator/recipe/errors.js';
import { describeRecipe, loadRecipe, parseRecipe } from '../../orchestrator/recipe/load.js';
import { RecipeSchema } from '../../orchestrator/recipe/schema.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'recipes');
const repo = join(import.meta.dirname, '..', '..');

/** A scratch folder outside the repository, so only its own folder is an allowed root. */
function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'ipa-recipe-'));
}

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof RecipeError) return err.issues;
    throw err;
  }
  throw new Error('expected a RecipeError');
}

describe('valid recipes', () => {
  it('minimal.yaml loads with defaults filled and paths absolute', () => {
    const { recipe, dir, source } = loadRecipe(join(fixtures, 'minimal.yaml'));
    expect(dir).toBe(fixtures);
    expect(source).toContain('name: tiny-demo');
    expect(recipe.model.base).toBe(join(repo, '.cache', 'models', 'tiny-qwen2vl'));
    expect(recipe.runs_dir).toBe(join(repo, 'test-artifacts', 'runs'));
    expect(recipe.data.synthetic.output_dir).toBe(join(repo, '.cache', 'data', 'synthetic'));
    expect(recipe.rounds).toHaveLength(2);
    expect(recipe.rounds[0]).toEqual({ name: 'automated', contrastive: true, revision: true, reference_guided: false });
    expect(recipe.sampling.perturbations.map((p) => p.kind)).toEqual([
      'gaussian_noise',
      'blur',
      'downscale',
      'crop',
      'color_jitter',
    ]);
    expect(recipe.orchestration.concurrency.train).toBe(1);
    expect(recipe.training.lora.r).toBe(4);
  });

  it('full.yaml loads every section and resolves every input path', () => {
    const { recipe } = loadRecipe(join(fixtures, 'full.yaml'));
    const a = (p: string) => join(fixtures, 'assets', p);
    expect(recipe.model.base).toBe(a('model'));
    expect(recipe.data.sources[0]).toMatchObject({ path: a('data/seeds.jsonl'), image_root: a('data'), weight: 2 });
    expect(recipe.verifier.template).toBe(a('templates/verify.txt'));
    expect(recipe.reviser).toMatchObject({
      feedback_template: a('templates/feedback.txt'),
      refine_template: a('templates/refine.txt'),
    });
    expect(recipe.eval.benchmarks[0].path).toBe(a('bench.jsonl'));
    // Every root in effect: the recipe's folder, the repository holding it, then the listed ones.
    expect(recipe.allowed_roots).toEqual([
      fixtures,
      resolve(import.meta.dirname, '..', '..'),
      join(fixtures, 'assets'),
    ]);
    expect(recipe.sampling.perturbations[0]).toEqual({ kind: 'blur', weight: 1, radius: [1, 2] });
    expect(recipe.sampling.perturbations[1]).toEqual({ kind: 'crop', weight: 2, fraction: [0.5, 0.8] });
    expect(recipe.orchestration.concurrency).toEqual({ sample: 2, verify: 1, revise: 1, train: 1, eval: 1 });
  });

  it("a recipe of two lines gets the paper's three rounds", () => {
    const dir = scratch();
    const { recipe } = parseRecipe(
      'name: x\nmodel: {base: m, build_tiny: true}\ndata: {synthetic: {enabled: true}}\n',
      join(dir, 'r.yaml'),
    );
    expect(recipe.rounds.map((r) => r.name)).toEqual(['automated', 'self-evolution', 'reference-guided']);
    expect(recipe.runs_dir).toBe(join(dir, 'runs'));
    expect(recipe).toEqual(RecipeSchema.parse(recipe));
  });

  it('allowed_roots lets paths point outside the recipe folder', () => {
    const dir = scratch();
    const other = scratch();
    writeFileSync(join(other, 'seeds.jsonl'), '{}\n');
    const text = `name: x\nallowed_roots: [${other}]\nmodel: {base: m, build_tiny: true}\ndata:\n  sources: [{path: ${join(other, 'seeds.jsonl')}}]\n`;
    expect(issuesOf(() => parseRecipe(text.replace(/allowed_roots.*\n/, ''), join(dir, 'r.yaml')))[0].path).toBe(
      'data.sources[0].path',
    );
    expect(parseRecipe(text, join(dir, 'r.yaml')).recipe.data.sources[0].path).toBe(join(other, 'seeds.jsonl'));
  });

  it('a symlink inside the folder cannot lead outside the allowed roots', () => {
    const dir = scratch();
    const outside = scratch();
    writeFileSync(join(outside, 'seeds.jsonl'), '{}\n');
    symlinkSync(outside, join(dir, 'link'));
    const issues = issuesOf(() =>
      parseRecipe(
        'name: x\nmodel: {base: m, build_tiny: true}\ndata: {sources: [{path: link/seeds.jsonl}]}\n',
        join(dir, 'r.yaml'),
      ),
    );
    expect(issues[0]).toMatchObject({ path: 'data.sources[0].path', line: 3 });
    expect(issues[0].message).toContain('outside the allowed roots');
  });

  it('checkFiles: false skips existence checks but keeps the root rule', () => {
    const dir = scratch();
    const text = 'name: x\nmodel: {base: nowhere}\ndata: {sources: [{path: missing.jsonl}]}\n';
    expect(parseRecipe(text, join(dir, 'r.yaml'), { checkFiles: false }).recipe.model.base).toBe(join(dir, 'nowhere'));
    expect(
      issuesOf(() =>
        parseRecipe('name: x\nmodel: {base: /etc}\ndata: {synthetic: {enabled: true}}\n', join(dir, 'r.yaml'), {
          checkFiles: false,
        }),
      )[0].path,
    ).toBe('model.base');
  });

  it('the repository root is allowed only for recipes inside it', () => {
    const dir = scratch();
    mkdirSync(join(dir, 'recipes'));
    writeFileSync(join(dir, 'model.bin'), '');
    const text = 'name: x\nmodel: {base: ../model.bin}\ndata: {synthetic: {enabled: true}}\n';
    expect(parseRecipe(text, join(dir, 'recipes', 'r.yaml'), { repoRoot: dir }).recipe.model.base).toBe(
      join(dir, 'model.bin'),
    );
    expect(
      issuesOf(() => parseRecipe(text, join(dir, 'recipes', 'r.yaml'), { repoRoot: join(dir, 'recipes', 'x') }))[0]
        .message,
    ).toContain('outside');
  });

  it('a byte-order mark is accepted; the source is returned as read', () => {
    const dir = scratch();
    const text = '\uFEFFname: x\nmodel: {base: m, build_tiny: true}\ndata: {synthetic: {enabled: true}}\n';
    writeFileSync(join(dir, 'r.yaml'), text);
    expect(loadRecipe(join(dir, 'r.yaml')).recipe.name).toBe('x');
  });

  it('describeRecipe gives one line', () => {
    const line = describeRecipe(loadRecipe(join(fixtures, 'full.yaml')).recipe);
    expect(line).not.toContain('\n');
    expect(line).toMatch(
      /^full-example: 3 rounds \(automated, self-evolution, reference-guided\), model .*assets\/model, data 1 source \+ synthetic data, model verifier, K=3\+2, generating on hf$/,
    );
  });
});

describe('file-level errors', () => {
  it('a missing file, a folder and an oversized file are RecipeErrors', () => {
    const dir = scratch();
    expect(issuesOf(() => loadRecipe(join(dir, 'nope.yaml')))[0].message).toBe('cannot read recipe: no such file');
    expect(issuesOf(() => loadRecipe(dir))[0].message).toContain('is a folder');
    writeFileSync(join(dir, 'big.yaml'), `# ${'x'.repeat(1024 * 1024)}\n`);
    expect(issuesOf(() => loadRecipe(join(dir, 'big.yaml')))[0].message).toContain('larger than');
  });

  it('collects every schema problem of a file at once, sorted by line', () => {
    const text =
      'name: x\nmodel: {base: m, build_tiny: true}\ngeneration: {backend: nope}\nsampling:\n  num_normal: -1\nrounds: []\n';
    const issues = issuesOf(() => parseRecipe(text, join(scratch(), 'r.yaml')));
    expect(issues.map((i) => [i.path, i.line])).toEqual([
      ['generation.backend', 3],
      ['sampling.num_normal', 5],
      ['rounds', 6],
    ]);
  });

  it("a missing field of a nested mapping points at the mapping's key", () => {
    const text =
      'name: x\nmodel: {base: m, build_tiny: true}\ndata: {synthetic: {enabled: true}}\neval:\n  benchmarks:\n    - name: b\n';
    expect(issuesOf(() => parseRecipe(text, join(scratch(), 'r.yaml')))[0]).toMatchObject({
      path: 'eval.benchmarks[0].path',
      line: 6,
      column: 7,
    });
  });

  it('aliases within the limit are fine and expand to plain data', () => {
    const text =
      'name: x\nmodel: {base: m, build_tiny: true}\ndata: {synthetic: {enabled: true}}\ntraining:\n  lora: &l {r: 4, alpha: 8}\nwarmup: {sft: {lora: *l}}\n';
    expect(parseRecipe(text, join(scratch(), 'r.yaml')).recipe.warmup.sft.lora.r).toBe(4);
  });

  it('an alias cannot refer to its own anchor (no cycles)', () => {
    const text = 'name: x\nmodel: {base: m, build_tiny: true}\nallowed_roots: &a [*a]\n';
    expect(issuesOf(() => parseRecipe(text, join(scratch(), 'r.yaml')))[0].message).toContain('no earlier anchor');
  });
});

describe('error helpers', () => {
  it('formatPath writes list indexes in brackets', () => {
    expect(formatPath(['data', 'sources', 0, 'path'])).toBe('data.sources[0].path');
    expect(formatPath([])).toBe('');
    expect(formatPath([2, 'a'])).toBe('[2].a');
  });

  it('formatIssue leaves out an empty path and a missing hint', () => {
    expect(formatIssue({ file: 'r.yaml', line: 1, column: 1, path: '', message: 'recipe is empty' })).toBe(
      'r.yaml:1:1 recipe is empty',
    );
    expect(formatIssue({ file: 'r.yaml', line: 12, column: 5, path: 'a.b', message: 'm', hint: 'h' })).toBe(
      'r.yaml:12:5 a.b: m (h)',
    );
  });

  it('levenshtein and closest', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(closest('tempreature', ['top_p', 'temperature'])).toBe('temperature');
    expect(closest('zzzzzz', ['temperature', 'top_p'])).toBeUndefined();
    expect(closest('x', [])).toBeUndefined();
  });
});
