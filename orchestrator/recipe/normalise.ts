/**
 * The path rules of a validated recipe: every path field (found through the schema's
 * `pathField` marks) becomes absolute, must stay inside the allowed roots (the recipe's folder,
 * the repository holding it, `allowed_roots`), and inputs must exist as what they are. Plus the
 * one rule across sections: some seed data must be given.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isWithin as inside, realPath as real } from '../real-path.js';
import { RecipeError, type RecipeIssue } from './errors.js';
import type { Locator } from './locator.js';
import { findPathFields, looksLikePath, type PathRule } from './path-fields.js';
import { RecipeSchema, type Recipe } from './schema.js';
import type { Seg } from './schema-walk.js';

/** The ipa repository root (recipes inside it may point anywhere in it). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface NormaliseOptions {
  /**
   * The repository root; recipes inside it may reference any path in it.
   * @defaultValue the ipa checkout this module lives in
   */
  repoRoot?: string;
  /**
   * Check that referenced inputs (model, sources, templates, benchmarks) exist.
   * @defaultValue true
   */
  checkFiles?: boolean;
  /**
   * Report a missing input as a warning instead of an error (`ipa validate --offline`: the
   * recipe's structure and values are checked before its model and data are downloaded); a file
   * the user writes (a path rule's `local`) stays an error.
   * @defaultValue false
   */
  missingAsWarnings?: boolean;
}

/**
 * The recipe with absolute paths, and warnings (missing inputs, under `missingAsWarnings`);
 * throws one `RecipeError` with every path problem.
 */
export function normalise(
  input: Recipe,
  dir: string,
  opts: NormaliseOptions,
  at: Locator,
): { recipe: Recipe; warnings: RecipeIssue[] } {
  const recipe = structuredClone(input);
  const issues: RecipeIssue[] = [];
  const warnings: RecipeIssue[] = [];
  // A missing input is an error, or under missingAsWarnings a warning saying when it will be one;
  // a file the user writes (rule.local) is never waiting for a download, so it stays an error.
  const deferred = (rule: PathRule) => !!opts.missingAsWarnings && !rule.local;
  const later = (rule: PathRule) => (deferred(rule) ? '; `ipa submit` and `ipa run` need it there' : '');
  const abs = (p: string) => resolve(dir, p);
  const fields = findPathFields(RecipeSchema, recipe);

  const rootLists = fields.filter((f) => f.rule.need === 'roots');
  const repoRoot = resolve(opts.repoRoot ?? REPO_ROOT);
  const roots = [
    dir,
    ...(inside(real(dir), real(repoRoot)) ? [repoRoot] : []),
    ...rootLists.flatMap((f) => (f.value as string[]).map(abs)),
  ];
  const realRoots = roots.map(real);
  // The validated recipe lists every root in effect, so the workers apply the same rule to the
  // paths they meet in the data (image paths in seed rows).
  for (const f of rootLists) setAt(recipe, f.path, [...new Set(roots)]);

  const check = (path: Seg[], value: string, rule: PathRule): string => {
    const { need } = rule;
    const missing = deferred(rule) ? warnings : issues;
    const p = abs(value);
    if (!realRoots.some((r) => inside(real(p), r))) {
      issues.push(
        at.issue(
          path,
          'value',
          `path ${JSON.stringify(value)} resolves to ${p}, outside the allowed roots`,
          `allowed: ${roots.join(', ')}; add a folder to allowed_roots to use it`,
        ),
      );
      return p;
    }
    if (opts.checkFiles === false || need === 'none') return p;
    const hint = isAbsolute(value) ? undefined : `relative paths are resolved against the recipe's folder ${dir}`;
    if (!existsSync(p))
      missing.push(
        at.issue(
          path,
          'value',
          `${need === 'dir' ? 'folder' : need === 'file' ? 'file' : 'path'} not found: ${p}${later(rule)}`,
          hint,
        ),
      );
    else if (need === 'file' && !statSync(p).isFile())
      missing.push(at.issue(path, 'value', `expected a file, got a folder: ${p}${later(rule)}`));
    else if (need === 'dir' && !statSync(p).isDirectory())
      missing.push(at.issue(path, 'value', `expected a folder, got a file: ${p}${later(rule)}`));
    return p;
  };
  for (const f of fields) {
    if (f.rule.need === 'roots' || (f.rule.orName && !looksLikePath(f.value as string))) continue;
    setAt(recipe, f.path, check(f.path, f.value as string, f.rule));
  }

  if (recipe.data.sources.length === 0 && !recipe.data.synthetic.enabled) {
    issues.push(
      at.issue(
        ['data', 'sources'],
        'value',
        'no seed data: list at least one source',
        'or set data.synthetic.enabled: true',
      ),
    );
  }
  const syn = recipe.data.synthetic;
  if (
    recipe.warmup.sft.enabled &&
    recipe.warmup.sft.data === 'synthetic_warmup' &&
    (!syn.enabled || syn.warmup_size === 0)
  ) {
    issues.push(
      at.issue(
        ['warmup', 'sft', 'data'],
        'value',
        'the synthetic warm-up split is empty',
        'set data.synthetic.enabled: true and data.synthetic.warmup_size',
      ),
    );
  }
  if (syn.enabled && syn.eval_split === 'validation' && syn.validation_size === 0) {
    issues.push(
      at.issue(
        ['data', 'synthetic', 'eval_split'],
        'value',
        'the validation split is empty',
        'set data.synthetic.validation_size',
      ),
    );
  }
  if (issues.length) throw new RecipeError(issues);
  return { recipe, warnings };
}

function setAt(data: unknown, path: readonly Seg[], value: unknown): void {
  const parent = path.slice(0, -1).reduce<unknown>((cur, seg) => (cur as Record<Seg, unknown>)[seg], data);
  (parent as Record<Seg, unknown>)[path[path.length - 1]] = value;
}
