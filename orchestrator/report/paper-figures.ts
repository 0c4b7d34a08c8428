/**
 * The paper's benchmark figures (paper-benchmarks.json, with its source) beside a run's own:
 * baseline → IPA for Qwen2-VL-7B, and ours baseline (round 0) → the last evaluated round, in the
 * paper's units. Shown when the recipe sets `eval.compare_with_paper` (the 7B recipes do).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { EvalResult } from '../store/metrics-files.js';

const PaperFigureSchema = z.object({
  benchmark: z.string(),
  /** The lmms-eval task that stands for it, or null where lmms-eval has none. */
  task: z.string().nullable(),
  metric: z.string().nullable(),
  /** lmms-eval's value × scale = the paper's unit (POPE's fraction ×100, MME's score ×1). */
  scale: z.number().positive(),
  baseline: z.number(),
  ipa: z.number(),
});
const PaperFiguresSchema = z.object({
  source: z.string(),
  model: z.string(),
  note: z.string(),
  benchmarks: z.array(PaperFigureSchema),
});
export type PaperFigures = z.output<typeof PaperFiguresSchema>;

export const PAPER_FIGURES: PaperFigures = PaperFiguresSchema.parse(
  JSON.parse(readFileSync(new URL('./paper-benchmarks.json', import.meta.url), 'utf8')),
);

export interface PaperComparison {
  benchmark: string;
  task: string | null;
  metric: string | null;
  paper_baseline: number;
  paper_ipa: number;
  /** Ours in the paper's unit; null where this run has no such number. */
  ours_baseline: number | null;
  ours_final: number | null;
  ours_final_round: number | null;
}

function ours(e: EvalResult, task: string | null, metric: string | null, scale: number): number | null {
  if (!task || !metric) return null;
  const v = e.benchmarks[task]?.metrics[metric];
  return typeof v === 'number' ? v * scale : null;
}

export function paperComparison(evals: EvalResult[], figures: PaperFigures = PAPER_FIGURES): PaperComparison[] {
  return figures.benchmarks.map((f) => {
    const base = evals.find((e) => e.round === 0);
    const last = [...evals].reverse().find((e) => e.round > 0 && ours(e, f.task, f.metric, f.scale) !== null);
    return {
      benchmark: f.benchmark,
      task: f.task,
      metric: f.metric,
      paper_baseline: f.baseline,
      paper_ipa: f.ipa,
      ours_baseline: base ? ours(base, f.task, f.metric, f.scale) : null,
      ours_final: last ? ours(last, f.task, f.metric, f.scale) : null,
      ours_final_round: last?.round ?? null,
    };
  });
}

const fmt = (v: number | null) => (v === null ? '–' : String(Number(v.toFixed(2))));
const delta = (a: number | null, b: number | null) =>
  a === null || b === null ? '–' : `${b - a >= 0 ? '+' : '−'}${Number(Math.abs(b - a).toFixed(2))}`;

/** Markdown: paper baseline → IPA beside ours baseline → final, with the source. */
export function paperTable(rows: PaperComparison[], figures: PaperFigures = PAPER_FIGURES): string {
  const lines = [
    `| benchmark | lmms-eval task (metric) | paper ${figures.model} baseline → IPA | change | ours round 0 → final | change |`,
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const task = r.task ? `${r.task} (${r.metric})` : 'no lmms-eval task';
    const final = r.ours_final_round === null ? fmt(null) : `${fmt(r.ours_final)} (round ${r.ours_final_round})`;
    lines.push(
      `| ${r.benchmark} | ${task} | ${fmt(r.paper_baseline)} → ${fmt(r.paper_ipa)} | ${delta(r.paper_baseline, r.paper_ipa)} | ${fmt(r.ours_baseline)} → ${final} | ${delta(r.ours_baseline, r.ours_final)} |`,
    );
  }
  lines.push('', `Paper: ${figures.source}. ${figures.note}`);
  return lines.join('\n');
}
