/**
 * What a valid recipe may still get wrong: settings that are allowed but probably not meant. A run
 * that samples no response, builds no pair or trains no model would go through and learn nothing;
 * one that evaluates nothing shows "–" for every round; lmms-eval on part of each task gives
 * numbers not comparable with published ones. These are warnings, located like errors
 * (`file:line:column field: message`), so `ipa validate` (and every command that loads a recipe)
 * says them before hours of compute are spent; they never stop a run.
 */
import type { RecipeIssue } from './errors.js';
import type { Locator } from './locator.js';
import type { Recipe } from './schema.js';

/** A note about a recipe field, before it is located in the recipe's text (`Locator.issue`). */
export interface RecipeWarning {
  /** The field the warning is about, as a path into the recipe. */
  path: PropertyKey[];
  message: string;
  hint?: string;
}

/** Responses per seed in round `i` (0-based): normal, plus contrastive when the round draws them. */
export function samplesPerSeed(recipe: Recipe, i: number): number {
  const s = recipe.sampling;
  return s.num_normal + (recipe.rounds[i].contrastive ? s.num_contrastive : 0);
}

/**
 * Whether round `i` can build a response pair: it needs a passing and a failing response of one
 * seed, so two responses, or one whose failure a refinement (revision) can turn into a pass.
 */
export function canPair(recipe: Recipe, i: number): boolean {
  const n = samplesPerSeed(recipe, i);
  return n >= 2 || (n === 1 && recipe.rounds[i].revision);
}

/** Why a recipe evaluates nothing, in words; null when some round is evaluated on something. */
export function nothingEvaluated(recipe: Recipe): string | null {
  if (recipe.eval.after === 'none') return 'eval.after is none: no round is evaluated';
  const local = recipe.eval.benchmarks.length > 0 || recipe.data.synthetic.enabled;
  if (!local && !recipe.eval.lmms_eval.enabled)
    return 'there is nothing to evaluate: no eval.benchmarks, no synthetic held-out split, lmms-eval off';
  return null;
}

/** Sampling, pairing and training: a recipe that would run and learn nothing. */
function trainingWarnings(recipe: Recipe): RecipeWarning[] {
  const out: RecipeWarning[] = [];
  const rounds = recipe.rounds.map((_, i) => i);
  const sampling = `sampling.num_normal is ${recipe.sampling.num_normal}, num_contrastive ${recipe.sampling.num_contrastive}`;
  if (rounds.every((i) => samplesPerSeed(recipe, i) === 0)) {
    out.push({
      path: ['sampling', 'num_normal'],
      message: `the recipe samples nothing (${sampling}): no responses, no pairs, nothing trained`,
    });
  } else if (recipe.training.objective !== 'dpo') {
    // rft, sft_reference and sft_oracle train on accepted responses or seed answers, not on pairs.
  } else if (rounds.every((i) => !canPair(recipe, i))) {
    out.push({
      path: ['rounds'],
      message:
        'the recipe trains on nothing: no round can build a pair (each needs two responses per seed, or one and revision on)',
      hint: sampling,
    });
  } else {
    for (const i of rounds) {
      if (samplesPerSeed(recipe, i) === 0)
        out.push({
          path: ['rounds', i],
          message: `round ${i + 1} samples nothing (${sampling}${recipe.rounds[i].contrastive ? '' : ', contrastive off'})`,
        });
      else if (!canPair(recipe, i))
        out.push({
          path: ['rounds', i],
          message: `round ${i + 1} can build no pair: one response per seed and revision off, so no seed has both a passing and a failing response`,
        });
    }
  }
  if (recipe.training.train_reviser && recipe.training.objective === 'dpo') {
    const hint = 'set training.train_reviser: false to say so';
    if (!recipe.pairs.feedback_pairs) {
      out.push({
        path: ['pairs', 'feedback_pairs'],
        message: 'training.train_reviser is on but pairs.feedback_pairs is off: the reviser is never trained',
        hint,
      });
    } else if (!recipe.rounds.some((r) => r.revision)) {
      out.push({
        path: ['rounds'],
        message: 'no round revises, so there are no feedback pairs and the reviser is never trained',
        hint,
      });
    }
  }
  return out;
}

/** Evaluation: a run that evaluates nothing, or lmms-eval on part of each task. */
function evaluationWarnings(recipe: Recipe): RecipeWarning[] {
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

/** Field notes located in the recipe's text, like the schema's issues. */
export function locateWarnings(notes: readonly RecipeWarning[], at: Locator): RecipeIssue[] {
  return notes.map((n) => at.issue(n.path, 'value', n.message, n.hint));
}

/** Every warning about a valid recipe (training, then evaluation), located in its text. */
export function recipeWarnings(recipe: Recipe, at: Locator): RecipeIssue[] {
  return locateWarnings([...trainingWarnings(recipe), ...evaluationWarnings(recipe)], at);
}
