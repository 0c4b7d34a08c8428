/**
 * A valid recipe can still do nothing useful: sample no response, build no pair, train no model.
 * Those are warnings, located like errors (`file:line:column field: message`), so `ipa validate`
 * says them before hours of compute are spent; the run itself would go through and learn nothing.
 */
import type { RecipeIssue } from './errors.js';
import type { Locator } from './locator.js';
import type { Recipe } from './schema.js';

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

export function recipeWarnings(recipe: Recipe, at: Locator): RecipeIssue[] {
  const out: RecipeIssue[] = [];
  const rounds = recipe.rounds.map((_, i) => i);
  const sampling = `sampling.num_normal is ${recipe.sampling.num_normal}, num_contrastive ${recipe.sampling.num_contrastive}`;
  if (rounds.every((i) => samplesPerSeed(recipe, i) === 0)) {
    out.push(at.issue(['sampling', 'num_normal'], 'value', `the recipe samples nothing (${sampling}): no responses, no pairs, nothing trained`));
  } else if (recipe.training.objective !== 'dpo') {
    // rft and sft_reference train on accepted responses or reference answers, not on pairs.
  } else if (rounds.every((i) => !canPair(recipe, i))) {
    out.push(at.issue(['rounds'], 'value', 'the recipe trains on nothing: no round can build a pair (each needs two responses per seed, or one and revision on)', sampling));
  } else {
    for (const i of rounds) {
      if (samplesPerSeed(recipe, i) === 0) out.push(at.issue(['rounds', i], 'value', `round ${i + 1} samples nothing (${sampling}${recipe.rounds[i].contrastive ? '' : ', contrastive off'})`));
      else if (!canPair(recipe, i)) out.push(at.issue(['rounds', i], 'value', `round ${i + 1} can build no pair: one response per seed and revision off, so no seed has both a passing and a failing response`));
    }
  }
  if (recipe.training.train_reviser && recipe.training.objective === 'dpo') {
    if (!recipe.pairs.feedback_pairs) {
      out.push(at.issue(['pairs', 'feedback_pairs'], 'value', 'training.train_reviser is on but pairs.feedback_pairs is off: the reviser is never trained', 'set training.train_reviser: false to say so'));
    } else if (!recipe.rounds.some((r) => r.revision)) {
      out.push(at.issue(['rounds'], 'value', 'no round revises, so there are no feedback pairs and the reviser is never trained', 'set training.train_reviser: false to say so'));
    }
  }
  return out;
}
