/**
 * The per-round results table (`ipa run`, `ipa status`, the report): seeds in, responses,
 * verifier pass rate, pairs, challenging seeds left, DPO reward accuracy, held-out accuracy.
 * Computed from done records (row counts and stage metrics) and eval files only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { evalFile } from '../plan/paths.js';
import { roundCount } from '../plan/planner.js';
import type { DoneRecord, RunStore } from '../store/run-store.js';

export interface RoundResult {
  round: number;
  seeds: number | null;
  responses_normal: number | null;
  responses_contrastive: number | null;
  refined: number | null;
  pass_rate: number | null;
  refined_pass_rate: number | null;
  pairs: number | null;
  feedback_pairs: number | null;
  challenging: number | null;
  reward_accuracy: number | null;
  heldout_accuracy: number | null;
  heldout_by_task: Record<string, number>;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const sum = (xs: Array<number | null>): number | null => (xs.some((x) => x !== null) ? xs.reduce<number>((a, x) => a + (x ?? 0), 0) : null);
const rows = (recs: DoneRecord[], out: string) => sum(recs.map((r) => num(r.outputs[out]?.rows)));

/** Pass rate weighted by items: Σ passed / Σ n over shards. */
function passRate(recs: DoneRecord[]): number | null {
  let passed = 0;
  let n = 0;
  for (const r of recs) {
    const k = num(r.metrics.n) ?? 0;
    const p = num(r.metrics.passed) ?? (num(r.metrics.pass_rate) ?? 0) * k;
    passed += p;
    n += k;
  }
  return n > 0 ? passed / n : null;
}

export function roundResults(store: RunStore): RoundResult[] {
  const recipe = store.recipe();
  const recs = store.doneRecords();
  const out: RoundResult[] = [];
  for (let r = 0; r <= roundCount(recipe); r++) {
    const of = (stage: string) => recs.filter((x) => x.round === r && x.stage === stage);
    const sample = of('sample');
    const train = of('train')[0];
    const evalPath = store.abs(evalFile(r));
    const ev = existsSync(evalPath) ? JSON.parse(readFileSync(evalPath, 'utf8')) : undefined;
    const advancePrev = recs.find((x) => x.stage === 'advance' && x.round === r - 1);
    out.push({
      round: r,
      seeds: r === 0 ? num(recs.find((x) => x.stage === 'prepare')?.outputs.seeds?.rows) : num(advancePrev?.metrics.seeds),
      responses_normal: sum(sample.map((x) => num(x.metrics.normal))),
      responses_contrastive: sum(sample.map((x) => num(x.metrics.contrastive))),
      refined: rows(of('revise'), 'revisions'),
      pass_rate: passRate(of('verify')),
      refined_pass_rate: passRate(of('verify_revisions')),
      pairs: rows(of('pair'), 'pairs'),
      feedback_pairs: rows(of('pair'), 'feedback_pairs'),
      challenging: rows(of('pair'), 'challenging'),
      reward_accuracy: num(train?.metrics.reward_accuracy_end) ?? num(train?.metrics['rewards/accuracies']),
      heldout_accuracy: num(ev?.overall),
      heldout_by_task: (ev?.by_task as Record<string, number>) ?? {},
    });
  }
  return out;
}

const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
const int = (v: number | null) => (v === null ? '–' : String(v));

/** Markdown table, one row per round (round 0 = the initial model after warm-up). */
export function resultsTable(results: RoundResult[]): string {
  const tasks = [...new Set(results.flatMap((r) => Object.keys(r.heldout_by_task)))].sort();
  const head = ['round', 'seeds in', 'responses (normal/contrastive/refined)', 'verifier pass', 'refined pass', 'pairs', 'feedback pairs', 'challenging left', 'DPO reward acc', 'held-out acc', ...tasks.map((t) => `acc ${t}`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of results) {
    const cells = [
      r.round === 0 ? '0 (initial)' : String(r.round),
      int(r.seeds),
      r.round === 0 ? '–' : `${int(r.responses_normal)}/${int(r.responses_contrastive)}/${int(r.refined)}`,
      pct(r.pass_rate),
      pct(r.refined_pass_rate),
      int(r.pairs),
      int(r.feedback_pairs),
      int(r.challenging),
      pct(r.reward_accuracy),
      pct(r.heldout_accuracy),
      ...tasks.map((t) => pct(num(r.heldout_by_task[t]))),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
