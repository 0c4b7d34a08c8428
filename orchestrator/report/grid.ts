/**
 * The tuning grid (`ipa ablate --grid`): every objective — IPA's DPO, RFT, SFT on the references
 * and the oracle SFT — trained for one round from the same warm-up model at every learning rate ×
 * epochs of one grid, scored on the validation split, with the optimiser steps each took. The
 * held-out split is never scored here: settings are chosen where the comparison is not made.
 */
import type { RecipeInput } from '../recipe/schema.js';
import { baselineVariant, type BaselineVariant } from './baselines.js';

export const GRID_OBJECTIVES = ['dpo', 'rft', 'sftref', 'oracle'] as const;
export type GridObjective = (typeof GRID_OBJECTIVES)[number];

export interface GridPoint {
  objective: GridObjective;
  learning_rate: number;
  epochs: number;
}

export function gridPoints(objectives: readonly GridObjective[], lrs: number[], epochs: number[]): GridPoint[] {
  return objectives.flatMap((objective) =>
    lrs.flatMap((learning_rate) => epochs.map((e) => ({ objective, learning_rate, epochs: e }))),
  );
}

export const pointName = (p: GridPoint) => `${p.objective}-lr${p.learning_rate}-e${p.epochs}`;

/**
 * The recipe of one grid point, starting from `warmModel` (one round, evaluated at the end): DPO
 * sets training.dpo's rate and epochs, the supervised objectives training.sft's.
 */
export function gridVariant(ipa: RecipeInput, p: GridPoint, warmModel: string, runsRoot: string): RecipeInput {
  const variant: BaselineVariant = p.objective === 'dpo' ? 'rft' : p.objective;
  const base = baselineVariant(ipa, variant, warmModel, runsRoot);
  const training = base.training ?? {};
  const name = `${ipa.name}-${pointName(p)}`.replace(/[^A-Za-z0-9._-]/g, '_');
  if (p.objective === 'dpo') {
    return {
      ...base,
      name,
      training: {
        ...training,
        objective: 'dpo',
        dpo: { ...(training.dpo ?? {}), learning_rate: p.learning_rate, epochs: p.epochs },
      },
    };
  }
  return {
    ...base,
    name,
    training: { ...training, sft: { ...(training.sft ?? {}), learning_rate: p.learning_rate, epochs: p.epochs } },
  };
}

export interface GridResult extends GridPoint {
  seed: number;
  run: string;
  steps: number | null;
  /** Validation success (held-out accuracy of the scored split), fact accuracy and compliance, in points. */
  success: number | null;
  facts: number | null;
  compliance: number | null;
}

const f1 = (v: number | null) => (v === null ? '–' : v.toFixed(1));

/** The best point per objective: highest mean validation success over seeds (ties: fewer steps). */
export function bestPoints(results: GridResult[]): Map<GridObjective, GridPoint> {
  const out = new Map<GridObjective, GridPoint>();
  const key = (r: GridPoint) => `${r.objective}|${r.learning_rate}|${r.epochs}`;
  const groups = new Map<string, GridResult[]>();
  for (const r of results) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const mean = (rs: GridResult[], k: 'success' | 'steps') => rs.reduce((a, r) => a + (r[k] ?? 0), 0) / rs.length;
  for (const rs of groups.values()) {
    const o = rs[0].objective;
    const cur = out.get(o);
    const curRs = cur ? groups.get(key(cur))! : undefined;
    if (
      !curRs ||
      mean(rs, 'success') > mean(curRs, 'success') ||
      (mean(rs, 'success') === mean(curRs, 'success') && mean(rs, 'steps') < mean(curRs, 'steps'))
    ) {
      out.set(o, { objective: o, learning_rate: rs[0].learning_rate, epochs: rs[0].epochs });
    }
  }
  return out;
}

export function gridTable(results: GridResult[]): string {
  const best = bestPoints(results);
  const lines = [
    '| objective | learning rate | epochs | seed | steps | validation success | fact accuracy | compliance | run |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const b = best.get(r.objective);
    const mark = b && b.learning_rate === r.learning_rate && b.epochs === r.epochs ? ' **(best)**' : '';
    lines.push(
      `| ${r.objective}${mark} | ${r.learning_rate} | ${r.epochs} | ${r.seed} | ${r.steps ?? '–'} | ${f1(r.success)} | ${f1(r.facts)} | ${f1(r.compliance)} | ${r.run} |`,
    );
  }
  return lines.join('\n');
}
