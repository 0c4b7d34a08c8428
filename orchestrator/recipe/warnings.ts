/**
 * What a valid recipe may still get wrong: settings that are allowed but probably not meant, such
 * as a run that evaluates nothing. `ipa validate` prints them located like issues, as warnings;
 * they never stop a run.
 */
import type { Recipe } from './schema.js';

export interface RecipeWarning {
  /** The field the warning is about, as a path into the recipe. */
  path: PropertyKey[];
  message: string;
  hint?: string;
}

/** Why a recipe evaluates nothing, in words; null when some round is evaluated on something. */
export function nothingEvaluated(recipe: Recipe): string | null {
  if (recipe.eval.after === 'none') return 'eval.after is none: no round is evaluated';
  const local = recipe.eval.benchmarks.length > 0 || recipe.data.synthetic.enabled;
  if (!local && !recipe.eval.lmms_eval.enabled) return 'there is nothing to evaluate: no eval.benchmarks, no synthetic held-out split, lmms-eval off';
  return null;
}

export function recipeWarnings(recipe: Recipe): RecipeWarning[] {
  const out: RecipeWarning[] = [];
  const nothing = nothingEvaluated(recipe);
  if (nothing) {
    out.push({
      path: recipe.eval.after === 'none' ? ['eval', 'after'] : ['eval'],
      message: `this run will evaluate nothing (${nothing}); ipa status and the report show "–" for every round`,
      hint: 'add eval.benchmarks, enable data.synthetic or eval.lmms_eval, or set eval.after to every_round or final',
    });
  }
  const lmms = recipe.eval.lmms_eval;
  if (lmms.enabled && lmms.limit !== undefined) {
    out.push({
      path: ['eval', 'lmms_eval', 'limit'],
      message: `lmms-eval evaluates at most ${lmms.limit}${lmms.limit < 1 ? ' of each task' : ' documents per task'}`,
      hint: 'fine for a smoke test; numbers on part of a task are not comparable with published ones',
    });
  }
  return out;
}
