/**
 * The paper's ablation (IPA.md, "Ablation"): baseline, Round 1 without contrastive sampling,
 * Round 1, + Round 2, + Round 3 — as recipe variants, and the table beside the paper's figures.
 * Rows 3–5 come from one full run's per-round evaluations; row 2 needs a run of its own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { ExitCode, IpaError } from '../errors.js';
import type { Recipe, RecipeInput } from '../recipe/schema.js';
import type { RoundResult } from './results.js';

/** Mean over 7 benchmarks reported by the paper for Qwen2-VL-7B (baseline → + Round 3). */
export const PAPER_ABLATION = [
  { row: 'baseline', paper: 68.1 },
  { row: 'round 1 without contrastive', paper: 69.1 },
  { row: 'round 1', paper: 70.1 },
  { row: '+ round 2', paper: 70.4 },
  { row: '+ round 3', paper: 70.5 },
] as const;

/**
 * One round without contrastive samples at the same sample budget: its K + K' samples per seed
 * are all normal ones (the paper's "Round 1 without contrastive sampling", budget-matched).
 */
export function withoutContrastive(recipe: RecipeInput, name: string): RecipeInput {
  const first = recipe.rounds?.[0] ?? {};
  const sampling = recipe.sampling ?? {};
  const k = (sampling.num_normal ?? 4) + (sampling.num_contrastive ?? 4);
  return {
    ...recipe,
    sampling: { ...sampling, num_normal: k, num_contrastive: 0 },
    rounds: [{ ...first, name, contrastive: false }],
  };
}

/** The variant for row 2: one round, no contrastive samples, the same K + K' samples per seed. */
export function noContrastiveVariant(recipe: RecipeInput): RecipeInput {
  return {
    ...withoutContrastive(recipe, recipe.rounds?.[0]?.name ?? 'automated'),
    name: `${recipe.name}-nocontrastive`,
  };
}

/** The rows need the per-round evaluations of a three-round recipe; anything else is refused. */
export function checkAblatable(recipe: Recipe): void {
  if (recipe.rounds.length !== 3 || recipe.eval.after !== 'every_round') {
    throw new IpaError('ablate needs a recipe with 3 rounds and eval.after: every_round', ExitCode.invalidInput);
  }
}

/**
 * Writes the variant for row 2 beside `recipeFile` (so its relative paths resolve the same way)
 * as `.<name>-nocontrastive.ablate.yaml`, and returns its path.
 */
export function writeNoContrastiveVariant(recipeFile: string, name: string): string {
  const file = join(dirname(recipeFile), `.${name}-nocontrastive.ablate.yaml`);
  writeFileSync(file, stringify(noContrastiveVariant(parseYaml(readFileSync(recipeFile, 'utf8')) as RecipeInput)));
  return file;
}

export interface AblationRow {
  row: string;
  paper: number;
  ours: number | null;
}

export function ablationRows(full: RoundResult[], noContrastive: RoundResult[]): AblationRow[] {
  const acc = (rs: RoundResult[], r: number) => rs.find((x) => x.round === r)?.heldout_accuracy ?? null;
  const ours = [acc(full, 0), acc(noContrastive, 1), acc(full, 1), acc(full, 2), acc(full, 3)];
  return PAPER_ABLATION.map((p, i) => ({ row: p.row, paper: p.paper, ours: ours[i] === null ? null : 100 * ours[i]! }));
}

/** True when our rows keep the paper's ordering (each row at least the one before it). */
export function sameOrdering(rows: AblationRow[]): boolean {
  const v = rows.map((r) => r.ours);
  return v.every((x, i) => x !== null && (i === 0 || x >= v[i - 1]!));
}

export function ablationTable(rows: AblationRow[]): string {
  const lines = [
    '| row | paper (Qwen2-VL-7B, mean of 7 benchmarks) | ours (tiny, held-out accuracy) |',
    '|---|---|---|',
  ];
  for (const r of rows)
    lines.push(`| ${r.row} | ${r.paper.toFixed(1)} | ${r.ours === null ? '–' : r.ours.toFixed(1)} |`);
  return lines.join('\n');
}
