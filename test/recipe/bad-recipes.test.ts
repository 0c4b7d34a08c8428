/**
 * Every malformed recipe under test/fixtures/recipes/bad/ must fail with a `RecipeError` naming
 * the field, the line and a recognisable message: the table is the loader's error contract.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecipeError } from '../../orchestrator/recipe/errors.js';
import { loadRecipe } from '../../orchestrator/recipe/load.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'recipes', 'bad');

/** file → [field path ('' for the whole file), line, message fragment]. */
const cases: Record<string, [string, number, string]> = {
  'syntax-unclosed-flow.yaml': ['', 9, 'YAML syntax error: Flow map'],
  'syntax-bad-indent.yaml': ['', 3, 'YAML syntax error'],
  'tab-indent.yaml': ['', 3, 'Tabs are not allowed'],
  'multiple-documents.yaml': ['', 8, 'single YAML document'],
  'wrong-type-number.yaml': ['sampling.temperature', 9, 'expected a number, got "hot"'],
  'wrong-type-bool.yaml': ['data.synthetic.enabled', 7, 'expected a boolean, got "yes"'],
  'null-value.yaml': ['sampling.temperature', 9, 'got null'],
  'unknown-key-typo.yaml': ['sampling.tempreature', 10, 'unknown key'],
  'unknown-top-level-key.yaml': ['roundz', 8, 'unknown key'],
  'unknown-key-in-list-item.yaml': ['rounds[1].refrence_guided', 11, 'unknown key'],
  'unknown-key-in-perturbation.yaml': ['sampling.perturbations[0].radios', 11, 'unknown key'],
  'unknown-key-abbreviation.yaml': ['training.dpo.lr', 10, 'unknown key'],
  'negative-count.yaml': ['sampling.num_normal', 9, 'must be >= 0 (got -1)'],
  'zero-shard-size.yaml': ['data.shard_size', 6, 'must be > 0'],
  'non-integer.yaml': ['training.dpo.batch_size', 10, 'expected an integer, got 2.5'],
  'top-p-out-of-range.yaml': ['sampling.top_p', 9, 'must be <= 1'],
  'bad-enum.yaml': ['generation.backend', 9, 'must be one of "hf", "vllm" (got "tensorrt")'],
  'bad-perturbation-kind.yaml': ['sampling.perturbations[1].kind', 11, '"color_jitter" (got "rotate")'],
  'range-reversed.yaml': ['sampling.perturbations[0].radius', 11, 'low <= high'],
  'missing-name.yaml': ['name', 2, 'missing required field'],
  'missing-model-base.yaml': ['model.base', 2, 'missing required field'],
  'bad-name-pattern.yaml': ['name', 1, 'invalid "my run!"'],
  'empty-rounds.yaml': ['rounds', 8, 'at least 1 item'],
  'too-many-rounds.yaml': ['rounds', 8, 'at most 10 items'],
  'rounds-not-a-list.yaml': ['rounds', 8, 'expected a list'],
  'path-escape.yaml': ['data.sources[0].path', 7, 'outside the allowed roots'],
  'absolute-outside.yaml': ['model.base', 3, 'resolves to /etc, outside the allowed roots'],
  'runs-dir-escape.yaml': ['runs_dir', 8, 'outside the allowed roots'],
  'missing-source.yaml': ['data.sources[1].path', 8, 'not found'],
  'missing-model.yaml': ['model.base', 3, 'not found'],
  'missing-template.yaml': ['verifier.template', 9, 'file not found'],
  'template-is-folder.yaml': ['reviser.refine_template', 9, 'expected a file, got a folder'],
  'image-root-is-file.yaml': ['data.sources[0].image_root', 8, 'expected a folder'],
  'missing-benchmark.yaml': ['eval.benchmarks[0].path', 11, 'file not found'],
  'no-seed-data.yaml': ['data.sources', 1, 'no seed data'],
  'warmup-split-empty.yaml': ['warmup.sft.data', 11, 'the synthetic warm-up split is empty'],
  'validation-split-empty.yaml': ['data.synthetic.eval_split', 8, 'the validation split is empty'],
  'roles-need-ground-truth.yaml': ['warmup.sft.roles', 11, 'need ground truth: set data: synthetic_warmup'],
  'empty.yaml': ['', 1, 'recipe is empty'],
  'comments-only.yaml': ['', 1, 'recipe is empty'],
  'top-level-list.yaml': ['', 1, 'a recipe is a mapping'],
  'non-utf8.yaml': ['', 3, 'not valid UTF-8'],
  'duplicate-key.yaml': ['sampling.temperature', 11, 'duplicate key "temperature"'],
  'custom-tag.yaml': ['model.base', 3, 'YAML tag !python/object/apply:os.system is not allowed'],
  'binary-tag.yaml': ['seed', 8, 'is not allowed'],
  'alias-bomb.yaml': ['c[7]', 7, 'more than 16 aliases'],
  // Under the alias cap, but each anchor holds an alias of the one before (issue 14, finding 6).
  'alias-chain.yaml': ['', 9, 'aliases expand to more than 100 values'],
  'nul-in-path.yaml': ['runs_dir', 8, 'a path cannot contain a NUL byte'],
  'unknown-alias.yaml': ['seed', 8, 'refers to no earlier anchor'],
  'reserved-key.yaml': ['__proto__', 8, 'reserved key'],
  'complex-key.yaml': ['', 8, 'keys must be plain names'],
  'moved-worker-settings.yaml': ['orchestration.lock_duration_ms', 10, 'no longer a recipe setting'],
  'renamed-dpo-lora.yaml': ['training.dpo.lora', 11, 'no longer a recipe setting'],
  // Issue 25, findings 9 and 12: spoofed paths, task files outside the roots, sizes no machine holds.
  'bidi-in-path.yaml': [
    'runs_dir',
    8,
    'a path cannot contain a bidirectional control character or an unpaired surrogate (\\u202e at character 6)',
  ],
  'lone-surrogate-in-path.yaml': ['model.base', 3, '(\\ud800 at character 2)'],
  'task-path-outside.yaml': [
    'eval.lmms_eval.tasks[1]',
    11,
    'path "/etc/evil.yaml" resolves to /etc/evil.yaml, outside the allowed roots',
  ],
  'huge-train-size.yaml': ['data.synthetic.train_size', 8, 'must be <= 1000000 (got 1000000000000000)'],
  'millions-of-shards.yaml': [
    'data.shard_size',
    9,
    '50000000 seeds in shards of 1 make 50000000 shards, more than the 100000 a round may have',
  ],
  'moved-sampling-backend.yaml': ['sampling.backend', 10, 'no longer a recipe setting'],
};

function failure(file: string): RecipeError {
  try {
    loadRecipe(join(dir, file));
  } catch (err) {
    if (err instanceof RecipeError) return err;
    throw err;
  }
  throw new Error(`${file} loaded without error`);
}

describe('malformed recipes', () => {
  it('the table covers every fixture (and there are at least 25)', () => {
    expect(Object.keys(cases).sort()).toEqual(readdirSync(dir).sort());
    expect(Object.keys(cases).length).toBeGreaterThanOrEqual(25);
  });

  it.each(Object.entries(cases))('%s → %j', (file, [path, line, fragment]) => {
    const err = failure(file);
    const issue = err.issues.find((i) => i.path === path && i.message.includes(fragment));
    expect(issue, `issues were:\n${err.message}`).toBeDefined();
    expect(issue!.line).toBe(line);
    expect(issue!.column).toBeGreaterThanOrEqual(1);
    expect(issue!.file).toBe(join(dir, file));
    expect(err.exitCode).toBe(3);
  });

  it('typos get the closest known key of that mapping as a hint', () => {
    expect(failure('unknown-key-typo.yaml').issues[0].hint).toBe('did you mean "temperature"?');
    expect(failure('unknown-top-level-key.yaml').issues[0].hint).toBe('did you mean "rounds"?');
    expect(failure('unknown-key-in-list-item.yaml').issues[0].hint).toBe('did you mean "reference_guided"?');
    // The hint comes from the variant the item's `kind` selects (blur has `radius`).
    expect(failure('unknown-key-in-perturbation.yaml').issues[0].hint).toBe('did you mean "radius"?');
    // A short form made of a known key's initials ("lr") is a guess too.
    expect(failure('unknown-key-abbreviation.yaml').issues[0].hint).toBe('did you mean "learning_rate"?');
  });

  it('the worker settings that left the recipe say where they went', () => {
    const err = failure('moved-worker-settings.yaml');
    const file = join(dir, 'moved-worker-settings.yaml');
    const [lock, stalled, ...rest] = err.message.split('\n');
    expect(rest).toEqual([]);
    expect(lock).toContain(`${file}:10:3 orchestration.lock_duration_ms: no longer a recipe setting (`);
    expect(lock).toContain('`ipa worker --lock-ms N`');
    expect(stalled).toContain(`${file}:11:3 orchestration.stalled_interval_ms: no longer a recipe setting (`);
    expect(stalled).toContain('`ipa worker --stalled-ms N`');
    expect(err.exitCode).toBe(3);
  });

  it('the backend, now a setting of generation, says where it went', () => {
    const [backend, vllm, ...rest] = failure('moved-sampling-backend.yaml').issues;
    expect(rest).toEqual([]);
    expect([backend.path, backend.line]).toEqual(['sampling.backend', 10]);
    expect(backend.hint).toContain('moved to `generation.backend`');
    expect([vllm.path, vllm.line]).toEqual(['sampling.vllm', 11]);
    expect(vllm.hint).toContain('moved to `generation.vllm`');
  });

  it('a renamed setting names its new place', () => {
    const [issue, ...rest] = failure('renamed-dpo-lora.yaml').issues;
    expect(rest).toEqual([]);
    expect(issue.hint).toContain('renamed to `training.lora`');
  });

  it('issues print as file:line:column path: message (hint)', () => {
    const err = failure('unknown-key-typo.yaml');
    expect(err.message).toBe(
      `${join(dir, 'unknown-key-typo.yaml')}:10:3 sampling.tempreature: unknown key (did you mean "temperature"?)`,
    );
  });

  it('an unknown key is located at the key itself, a bad value at the value', () => {
    expect(failure('unknown-key-typo.yaml').issues[0].column).toBe(3);
    expect(failure('bad-enum.yaml').issues[0].column).toBe(12);
  });
});
