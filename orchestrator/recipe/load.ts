/**
 * Loads a recipe: read and parse (`source.ts`: YAML keeping node positions, nothing executed) →
 * validate (the zod schema; `issues.ts` words and locates its issues) → normalise
 * (`normalise.ts`: paths made absolute, inside the allowed roots, inputs present). Each step
 * collects every problem it finds as a `RecipeIssue` at its line and column, then throws one
 * `RecipeError`.
 */
import { dirname, resolve } from 'node:path';
import { RecipeError, type RecipeIssue } from './errors.js';
import { schemaIssues } from './issues.js';
import { normalise, type NormaliseOptions } from './normalise.js';
import { RecipeSchema, type Recipe } from './schema.js';
import { parseSource, readRecipeFile } from './source.js';
import { recipeWarnings } from './warnings.js';

export type { Recipe } from './schema.js';
export { MAX_ALIASES, MAX_RECIPE_BYTES } from './source.js';

export type LoadOptions = NormaliseOptions;

export interface LoadedRecipe {
  /** The validated recipe: defaults filled, every path absolute. */
  recipe: Recipe;
  /**
   * What is valid but wrong-looking: a recipe that samples or trains nothing, and (under
   * `missingAsWarnings`) inputs not there yet. Located like errors.
   */
  warnings: RecipeIssue[];
  /** The recipe text as written. */
  source: string;
  /** Absolute folder of the recipe file: relative paths were resolved against it. */
  dir: string;
}

/** Reads, decodes and loads a recipe file; throws `RecipeError` for every kind of bad input. */
export function loadRecipe(file: string, opts: LoadOptions = {}): LoadedRecipe {
  return parseRecipe(readRecipeFile(file), file, opts);
}

/** Loads a recipe from its text; `file` names it in messages and anchors its relative paths. */
export function parseRecipe(text: string, file: string, opts: LoadOptions = {}): LoadedRecipe {
  const dir = dirname(resolve(file));
  const { data, at } = parseSource(text, file);
  const parsed = RecipeSchema.safeParse(data);
  if (!parsed.success)
    throw new RecipeError(parsed.error.issues.flatMap((i) => schemaIssues(i, RecipeSchema, data, at)));
  const { recipe, warnings } = normalise(parsed.data, dir, opts, at);
  return { recipe, warnings: [...warnings, ...recipeWarnings(recipe, at)], source: text, dir };
}

/** One line: name, rounds, model, data, verifier and sampling sizes. */
export function describeRecipe(recipe: Recipe): string {
  const rounds = recipe.rounds.map((r, i) => r.name ?? `round ${i + 1}`).join(', ');
  const data = [
    recipe.data.sources.length
      ? `${recipe.data.sources.length} source${recipe.data.sources.length === 1 ? '' : 's'}`
      : '',
    recipe.data.synthetic.enabled ? 'synthetic data' : '',
  ]
    .filter(Boolean)
    .join(' + ');
  const model = `${recipe.model.base}${recipe.model.build_tiny ? ' (tiny)' : ''}`;
  const s = recipe.sampling;
  return (
    `${recipe.name}: ${recipe.rounds.length} round${recipe.rounds.length === 1 ? '' : 's'} (${rounds}), model ${model}, ` +
    `data ${data}, ${recipe.verifier.kind} verifier, K=${s.num_normal}+${s.num_contrastive}, generating on ${recipe.generation.backend}`
  );
}
