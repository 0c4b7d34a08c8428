/**
 * The per-round results (`ipa run`, `ipa status`, the report, the dashboard), computed once, here,
 * from done records (row counts and stage metrics) and eval files only:
 * - what each round collected: seeds in, responses, verifier pass rates, pairs, challenging seeds;
 * - how good it was, where the run measures it: the verifier against the audit's ground truth
 *   (verifier.audit), the reviser's true repair rate, the share of truly correct chosen responses,
 *   DPO reward accuracy over the training pairs and over held-out pairs before and after training,
 *   and the held-out accuracy of each round's policy;
 * - on the premise task: fact accuracy, compliance and success (success is the held-out accuracy),
 *   each verifier check's precision and recall against the checker, the verifier's coverage
 *   (share judged), the seeds carried on with nothing judged, the reviser's repair rate beside its
 *   empty-feedback control, and the two gates (the warm-up's fact accuracy, the verifier's audit set).
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
  /** DPO reward accuracy over the same pairs before training (0 for a fresh adapter: policy = reference). */
  reward_accuracy_train_before: number | null;
  reward_accuracy_heldout_before: number | null;
  heldout_accuracy: number | null;
  heldout_by_task: Record<string, number>;
  /** Premise task: share of answers with every asked fact right and none contradicted. */
  fact_accuracy: number | null;
  /** Premise task: share of answers in the form the instruction asks for. */
  compliance: number | null;
  /** Premise task: facts right and compliant (equals heldout_accuracy). */
  success: number | null;
  /** Premise task, per requirement family: the three figures. */
  by_family: Record<
    string,
    { fact_accuracy: number | null; compliance: number | null; success: number | null; n: number }
  >;
  /** Per verifier check against the checker (verifier.audit: checker): precision and recall of "yes". */
  check_audit: Record<string, { precision: number | null; recall: number | null; unjudged: number }>;
  /** Share of responses and refinements the verifier judged (after its second judgement). */
  coverage: number | null;
  /** Seeds with nothing judged, carried to the next round. */
  unjudged_seeds: number | null;
  /** Share of the empty-feedback control refinements that are truly correct (reviser.control_refinements). */
  control_repair_rate: number | null;
  /** The verifier gate's accuracy on its labelled audit set, where the round passed it. */
  gate_accuracy: number | null;
  /** Round 0 of a gated premise run: the warm-up's fact accuracy on validation against the level. */
  warmup_gate: { fact_accuracy: number | null; level: number; passed: boolean } | null;
}

const CHECKS = ['entailed', 'complete', 'no_contradiction', 'instruction_followed'] as const;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const sum = (xs: Array<number | null>): number | null =>
  xs.some((x) => x !== null) ? xs.reduce<number>((a, x) => a + (x ?? 0), 0) : null;
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

/** Each verifier check against the checker: precision and recall of its "yes" (verify stage). */
function checkAudit(recs: DoneRecord[]): RoundResult['check_audit'] {
  const out: RoundResult['check_audit'] = {};
  for (const c of CHECKS) {
    const [tp, fp, fn, un] = ['tp', 'fp', 'fn', 'unjudged'].map((k) => total(recs, `audit_${c}_${k}`));
    if (tp === null) continue;
    out[c] = { precision: ratio(tp, sum([tp, fp])), recall: ratio(tp, sum([tp, fn])), unjudged: un ?? 0 };
  }
  return out;
}

type Family = RoundResult['by_family'][string];

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
    const judging = [...of('verify'), ...of('verify_revisions')];
    const premise = ev?.premise as
      | { fact_accuracy: number; compliance: number; success: number; by_family: Record<string, Family> }
      | null
      | undefined;
    const gate = ev?.warmup_gate as RoundResult['warmup_gate'] | undefined;
    out.push({
      round: r,
      seeds:
        r === 0 ? num(recs.find((x) => x.stage === 'prepare')?.outputs.seeds?.rows) : num(advancePrev?.metrics.seeds),
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
      chosen_correct_rate: ratio(
        total(of('pair'), 'chosen_correct'),
        total(of('pair'), 'chosen_correct') === null ? null : rows(of('pair'), 'pairs'),
      ),
      reward_accuracy_train: num(train?.metrics.reward_accuracy_train_pairs),
      reward_margin_train: num(train?.metrics.reward_margin_train_pairs),
      reward_accuracy_heldout: num(train?.metrics.reward_accuracy_heldout_pairs),
      reward_margin_heldout: num(train?.metrics.reward_margin_heldout_pairs),
      reward_accuracy_train_before: num(train?.metrics.reward_accuracy_train_pairs_before),
      reward_accuracy_heldout_before: num(train?.metrics.reward_accuracy_heldout_pairs_before),
      heldout_accuracy: num(ev?.overall),
      heldout_by_task: (ev?.by_task as Record<string, number>) ?? {},
      fact_accuracy: num(premise?.fact_accuracy),
      compliance: num(premise?.compliance),
      success: num(premise?.success),
      by_family: premise?.by_family ?? {},
      check_audit: checkAudit(of('verify')),
      coverage: ratio(total(judging, 'judged'), total(judging, 'n')),
      unjudged_seeds: total(of('pair'), 'unjudged_seeds'),
      control_repair_rate: ratio(
        total(of('verify_revisions'), 'audit_control_true'),
        total(of('verify_revisions'), 'control_n'),
      ),
      gate_accuracy: num(train?.metrics.gate_accuracy),
      warmup_gate: gate ? { fact_accuracy: num(gate.fact_accuracy), level: gate.level, passed: gate.passed } : null,
    });
  }
  return out;
}

/** One figure's per-item outcomes of round `round`'s evaluation (premise task), by item id; null when absent. */
export function evalItems(
  store: RunStore,
  round: number,
  figure: 'success' | 'facts_ok' | 'complies' = 'success',
): Map<string, boolean> | null {
  // A run file like every other the report reads (store/metrics-files.ts): absent or damaged is null.
  const premise = readRunJson(store, evalFile(round))?.premise as
    { items?: Array<Record<string, unknown>> } | undefined;
  const items = premise?.items;
  return items ? new Map(items.map((i) => [String(i.id), Boolean(i[figure])])) : null;
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
    {
      head: 'responses (normal/contrastive/refined)',
      cell: (r) =>
        r.round === 0 ? '–' : `${int(r.responses_normal)}/${int(r.responses_contrastive)}/${int(r.refined)}`,
    },
    { head: 'verifier pass', cell: (r) => pct(r.pass_rate) },
    { head: 'refined pass', cell: (r) => pct(r.refined_pass_rate) },
    { head: 'unjudged', cell: (r) => int(r.unjudged), when: (r) => (r.unjudged ?? 0) > 0 },
    { head: 'verifier coverage', cell: (r) => pct(r.coverage), when: (r) => r.coverage !== null && r.round > 0 },
    { head: 'seeds carried unjudged', cell: (r) => int(r.unjudged_seeds), when: (r) => (r.unjudged_seeds ?? 0) > 0 },
    { head: 'pairs', cell: (r) => int(r.pairs) },
    { head: 'feedback pairs', cell: (r) => int(r.feedback_pairs) },
    { head: 'challenging left', cell: (r) => int(r.challenging) },
  ]);
  const quality = table(results, [
    { head: 'round', cell: roundLabel },
    {
      head: 'verifier vs truth: acc / precision / recall',
      cell: (r) =>
        r.verifier_accuracy === null
          ? '–'
          : `${pct(r.verifier_accuracy)} / ${pct(r.verifier_precision)} / ${pct(r.verifier_recall)}`,
      when: (r) => r.verifier_accuracy !== null,
    },
    {
      head: 'refinements truly correct',
      cell: (r) => pct(r.true_repair_rate),
      when: (r) => r.true_repair_rate !== null,
    },
    {
      head: 'control: refined with empty feedback',
      cell: (r) => pct(r.control_repair_rate),
      when: (r) => r.control_repair_rate !== null,
    },
    {
      head: 'chosen truly correct',
      cell: (r) => pct(r.chosen_correct_rate),
      when: (r) => r.chosen_correct_rate !== null,
    },
    {
      head: 'DPO reward acc (train pairs / held-out pairs)',
      cell: (r) =>
        r.reward_accuracy_train === null ? '–' : `${pct(r.reward_accuracy_train)} / ${pct(r.reward_accuracy_heldout)}`,
      when: (r) => r.reward_accuracy_train !== null,
    },
    {
      head: 'before training',
      cell: (r) =>
        r.reward_accuracy_train_before === null
          ? '–'
          : `${pct(r.reward_accuracy_train_before)} / ${pct(r.reward_accuracy_heldout_before)}`,
      when: (r) => r.reward_accuracy_train_before !== null,
    },
    { head: 'verifier gate (audit set)', cell: (r) => pct(r.gate_accuracy), when: (r) => r.gate_accuracy !== null },
    {
      head: 'DPO margin (train / held-out)',
      cell: (r) =>
        r.reward_margin_train === null ? '–' : `${signed(r.reward_margin_train)} / ${signed(r.reward_margin_heldout)}`,
      when: (r) => r.reward_margin_train !== null,
    },
    { head: 'held-out acc', cell: (r) => pct(r.heldout_accuracy) },
    ...tasks.map((t) => ({ head: `acc ${t}`, cell: (r: RoundResult) => pct(num(r.heldout_by_task[t])) })),
  ]);
  const sections = [collected, quality, premiseTable(results), checkTable(results), warmupGateLine(results)].filter(
    (x) => x,
  );
  return sections.join('\n\n');
}

/** The premise task's three figures per round (success = held-out accuracy); empty without them. */
export function premiseTable(results: RoundResult[]): string {
  if (!results.some((r) => r.success !== null)) return '';
  return table(results, [
    { head: 'round', cell: roundLabel },
    { head: 'fact accuracy', cell: (r) => pct(r.fact_accuracy) },
    { head: 'compliance', cell: (r) => pct(r.compliance) },
    { head: 'success', cell: (r) => pct(r.success) },
  ]);
}

const CHECK_WORDS: Record<string, string> = {
  entailed: 'entailed',
  complete: 'complete',
  no_contradiction: 'no contradiction',
  instruction_followed: 'instruction followed',
};

/** Each verifier check against the checker, per round: precision / recall of its "yes"; empty without a checker audit. */
export function checkTable(results: RoundResult[]): string {
  const rounds = results.filter((r) => Object.keys(r.check_audit).length);
  if (!rounds.length) return '';
  return table(rounds, [
    { head: 'round', cell: roundLabel },
    ...CHECKS.map((c) => ({
      head: `${CHECK_WORDS[c]}: precision / recall`,
      cell: (r: RoundResult) =>
        r.check_audit[c] ? `${pct(r.check_audit[c].precision)} / ${pct(r.check_audit[c].recall)}` : '–',
    })),
  ]);
}

/** What the warm-up gate says: whether this run can judge the premise at all. */
export function warmupGateLine(results: RoundResult[]): string {
  const gate = results.find((r) => r.round === 0)?.warmup_gate;
  if (!gate) return '';
  const level = `${(100 * gate.level).toFixed(0)}%`;
  if (gate.passed)
    return `warm-up fact accuracy on the validation split: ${pct(gate.fact_accuracy)} (gate ${level}): passed, so form, not perception, is what the variants differ in.`;
  return `warm-up fact accuracy on the validation split: ${pct(gate.fact_accuracy)}, below the gate's ${level}: this run cannot judge IPA's premise (perception, not form, limits every variant), and its figures make no claim.`;
}
