/**
 * The per-round results (`ipa run`, `ipa status`, the report, the dashboard), computed once, here,
 * from done records (row counts and stage metrics) and eval files only:
 * - what each round collected: seeds in, responses, verifier pass rates, pairs, challenging seeds;
 * - how good it was, where the run measures it: the verifier against the audit's ground truth
 *   (verifier.audit), the reviser's true repair rate, the share of truly correct chosen responses,
 *   DPO reward accuracy over the training pairs and over held-out pairs after training, and the
 *   held-out accuracy of each round's policy.
 */
import { evalFile } from '../plan/paths.js';
import { roundCount } from '../plan/planner.js';
import { readRunJson } from '../store/metrics-files.js';
import type { DoneRecord, RunStore } from '../store/run-store.js';

export interface RoundResult {
  round: number;
  seeds: number | null;
  responses_normal: number | null;
  responses_contrastive: number | null;
  refined: number | null;
  /** Share of judged responses the verifier passed. */
  pass_rate: number | null;
  refined_pass_rate: number | null;
  /** Responses and refinements the verifier left unjudged (its output stated no verdict). */
  unjudged: number | null;
  pairs: number | null;
  feedback_pairs: number | null;
  challenging: number | null;
  /** The verifier against the audit's ground truth (verify stage): share of judged responses it got right. */
  verifier_accuracy: number | null;
  /** Of the responses it passed, the share truly correct. */
  verifier_precision: number | null;
  /** Of the truly correct judged responses, the share it passed. */
  verifier_recall: number | null;
  /** Share of refinements that are truly correct. */
  true_repair_rate: number | null;
  /** Share of pairs whose chosen response is truly correct. */
  chosen_correct_rate: number | null;
  /** DPO reward accuracy over every training pair, after training. */
  reward_accuracy_train: number | null;
  reward_margin_train: number | null;
  /** DPO reward accuracy over pairs of held-out seeds, never trained on. */
  reward_accuracy_heldout: number | null;
  reward_margin_heldout: number | null;
  heldout_accuracy: number | null;
  heldout_by_task: Record<string, number>;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const sum = (xs: Array<number | null>): number | null => (xs.some((x) => x !== null) ? xs.reduce<number>((a, x) => a + (x ?? 0), 0) : null);
const rows = (recs: DoneRecord[], out: string) => sum(recs.map((r) => num(r.outputs[out]?.rows)));

/** Pass rate weighted by items: Σ passed / Σ judged over shards (n where a shard predates `judged`). */
function passRate(recs: DoneRecord[]): number | null {
  let passed = 0;
  let n = 0;
  for (const r of recs) {
    const k = num(r.metrics.judged) ?? num(r.metrics.n) ?? 0;
    const p = num(r.metrics.passed) ?? (num(r.metrics.pass_rate) ?? 0) * k;
    passed += p;
    n += k;
  }
  return n > 0 ? passed / n : null;
}

/** Σ of a numeric metric over shards, or null when no shard reports it. */
const total = (recs: DoneRecord[], key: string) => sum(recs.map((r) => num(r.metrics[key])));
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);

/** The verifier against the audit (verify stage): accuracy, precision and recall of v = 1. */
function audit(recs: DoneRecord[]): Pick<RoundResult, 'verifier_accuracy' | 'verifier_precision' | 'verifier_recall'> {
  const [tp, fp, fn, tn] = ['audit_tp', 'audit_fp', 'audit_fn', 'audit_tn'].map((k) => total(recs, k));
  const judged = sum([tp, fp, fn, tn]);
  return {
    verifier_accuracy: ratio(sum([tp, tn]), judged),
    verifier_precision: ratio(tp, sum([tp, fp])),
    verifier_recall: ratio(tp, sum([tp, fn])),
  };
}

export function roundResults(store: RunStore): RoundResult[] {
  const recipe = store.recipe();
  const recs = store.doneRecords();
  const out: RoundResult[] = [];
  for (let r = 0; r <= roundCount(recipe); r++) {
    const of = (stage: string) => recs.filter((x) => x.round === r && x.stage === stage);
    const sample = of('sample');
    const train = of('train')[0];
    const ev = readRunJson(store, evalFile(r));
    const advancePrev = recs.find((x) => x.stage === 'advance' && x.round === r - 1);
    out.push({
      round: r,
      seeds: r === 0 ? num(recs.find((x) => x.stage === 'prepare')?.outputs.seeds?.rows) : num(advancePrev?.metrics.seeds),
      responses_normal: sum(sample.map((x) => num(x.metrics.normal))),
      responses_contrastive: sum(sample.map((x) => num(x.metrics.contrastive))),
      refined: rows(of('revise'), 'revisions'),
      pass_rate: passRate(of('verify')),
      refined_pass_rate: passRate(of('verify_revisions')),
      unjudged: sum([total(of('verify'), 'unjudged'), total(of('verify_revisions'), 'unjudged')]),
      pairs: rows(of('pair'), 'pairs'),
      feedback_pairs: rows(of('pair'), 'feedback_pairs'),
      challenging: rows(of('pair'), 'challenging'),
      ...audit(of('verify')),
      true_repair_rate: ratio(total(of('verify_revisions'), 'audit_true'), total(of('verify_revisions'), 'n')),
      chosen_correct_rate: ratio(total(of('pair'), 'chosen_correct'), total(of('pair'), 'chosen_correct') === null ? null : rows(of('pair'), 'pairs')),
      reward_accuracy_train: num(train?.metrics.reward_accuracy_train_pairs),
      reward_margin_train: num(train?.metrics.reward_margin_train_pairs),
      reward_accuracy_heldout: num(train?.metrics.reward_accuracy_heldout_pairs),
      reward_margin_heldout: num(train?.metrics.reward_margin_heldout_pairs),
      heldout_accuracy: num(ev?.overall),
      heldout_by_task: (ev?.by_task as Record<string, number>) ?? {},
    });
  }
  return out;
}

const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
const int = (v: number | null) => (v === null ? '–' : String(v));
const signed = (v: number | null) => (v === null ? '–' : v.toFixed(2));
const roundLabel = (r: RoundResult) => (r.round === 0 ? '0 (initial)' : String(r.round));

interface Column {
  head: string;
  cell: (r: RoundResult) => string;
  /** Shown only when some round has a value (audit and DPO columns stay out of runs without them). */
  when?: (r: RoundResult) => boolean;
}

function table(results: RoundResult[], columns: Column[]): string {
  const shown = columns.filter((c) => !c.when || results.some(c.when));
  const lines = [`| ${shown.map((c) => c.head).join(' | ')} |`, `|${shown.map(() => '---').join('|')}|`];
  for (const r of results) lines.push(`| ${shown.map((c) => c.cell(r)).join(' | ')} |`);
  return lines.join('\n');
}

/**
 * Markdown, one row per round (round 0 = the initial model after warm-up): first what each round
 * collected, then how good it was (columns a run does not measure are left out).
 */
export function resultsTable(results: RoundResult[]): string {
  const tasks = [...new Set(results.flatMap((r) => Object.keys(r.heldout_by_task)))].sort();
  const collected = table(results, [
    { head: 'round', cell: roundLabel },
    { head: 'seeds in', cell: (r) => int(r.seeds) },
    { head: 'responses (normal/contrastive/refined)', cell: (r) => (r.round === 0 ? '–' : `${int(r.responses_normal)}/${int(r.responses_contrastive)}/${int(r.refined)}`) },
    { head: 'verifier pass', cell: (r) => pct(r.pass_rate) },
    { head: 'refined pass', cell: (r) => pct(r.refined_pass_rate) },
    { head: 'unjudged', cell: (r) => int(r.unjudged), when: (r) => (r.unjudged ?? 0) > 0 },
    { head: 'pairs', cell: (r) => int(r.pairs) },
    { head: 'feedback pairs', cell: (r) => int(r.feedback_pairs) },
    { head: 'challenging left', cell: (r) => int(r.challenging) },
  ]);
  const quality = table(results, [
    { head: 'round', cell: roundLabel },
    { head: 'verifier vs truth: acc / precision / recall', cell: (r) => (r.verifier_accuracy === null ? '–' : `${pct(r.verifier_accuracy)} / ${pct(r.verifier_precision)} / ${pct(r.verifier_recall)}`), when: (r) => r.verifier_accuracy !== null },
    { head: 'refinements truly correct', cell: (r) => pct(r.true_repair_rate), when: (r) => r.true_repair_rate !== null },
    { head: 'chosen truly correct', cell: (r) => pct(r.chosen_correct_rate), when: (r) => r.chosen_correct_rate !== null },
    { head: 'DPO reward acc (train pairs / held-out pairs)', cell: (r) => (r.reward_accuracy_train === null ? '–' : `${pct(r.reward_accuracy_train)} / ${pct(r.reward_accuracy_heldout)}`), when: (r) => r.reward_accuracy_train !== null },
    { head: 'DPO margin (train / held-out)', cell: (r) => (r.reward_margin_train === null ? '–' : `${signed(r.reward_margin_train)} / ${signed(r.reward_margin_heldout)}`), when: (r) => r.reward_margin_train !== null },
    { head: 'held-out acc', cell: (r) => pct(r.heldout_accuracy) },
    ...tasks.map((t) => ({ head: `acc ${t}`, cell: (r: RoundResult) => pct(num(r.heldout_by_task[t])) })),
  ]);
  return `${collected}\n\n${quality}`;
}
