/**
 * What a stage produced, in words a person reads ("512 responses (256 normal, 256
 * contrastive)", "74 pairs, 3 feedback pairs, 23 challenging seeds"), for one job or summed over
 * a stage: the event lines of `ipa run`/`ipa worker` and the columns of `ipa status` say the same.
 */
import type { Stage } from '../plan/stages.js';
import type { JobProgress } from '../queue/active-jobs.js';
import type { LiveJob } from '../store/job-progress.js';

/** Row counts by output name (a done record's `outputs[name].rows`, or their sum over jobs). */
export type OutputCounts = Record<string, number>;

const num = (m: Record<string, unknown>, k: string): number | undefined =>
  typeof m[k] === 'number' && Number.isFinite(m[k]) ? (m[k] as number) : undefined;

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "113 passed (22.1%)" from summed counts, so shards of different sizes weigh right. */
function passed(m: Record<string, unknown>): string {
  const n = num(m, 'n');
  const p = num(m, 'passed');
  return n !== undefined && p !== undefined ? `, ${p} passed${n ? ` (${pct(p / n)})` : ''}` : '';
}

function lossText(first: number | undefined, last: number | undefined): string {
  if (last === undefined) return '';
  return first !== undefined && first !== last
    ? `, loss ${first.toFixed(3)} → ${last.toFixed(3)}`
    : `, loss ${last.toFixed(3)}`;
}

/** DPO reward accuracy over held-out pairs when the run kept some out, else over the training pairs. */
function rewardAccuracy(m: Record<string, unknown>, prefix = ''): string {
  const held = num(m, `${prefix}reward_accuracy_heldout_pairs`);
  const train = num(m, `${prefix}reward_accuracy_train_pairs`);
  if (held !== undefined) return `, reward accuracy ${pct(held)} on held-out pairs`;
  return train !== undefined ? `, reward accuracy ${pct(train)} on its training pairs` : '';
}

function training(m: Record<string, unknown>, o: OutputCounts): string {
  const steps = num(m, 'steps') ?? 0;
  const objective = typeof m.objective === 'string' ? m.objective : 'dpo';
  const parts: string[] = [];
  if (typeof m.skipped === 'string' || (steps === 0 && !num(m, 'train_rows')))
    parts.push(`${m.skipped ?? 'nothing to train on'}: the policy is its start model unchanged`);
  else if (objective === 'dpo')
    parts.push(
      `policy DPO on ${plural(num(m, 'train_rows') ?? 0, 'pair')}, ${plural(steps, 'step')}${lossText(undefined, num(m, 'final_loss'))}${rewardAccuracy(m)}`,
    );
  else
    parts.push(
      `policy SFT (${objective}) on ${plural(num(m, 'train_rows') ?? 0, 'example')}, ${plural(steps, 'step')}${lossText(num(m, 'first_loss'), num(m, 'final_loss'))}`,
    );
  const rsteps = num(m, 'reviser_steps') ?? 0;
  if (rsteps > 0 || o.reviser)
    parts.push(
      `reviser DPO on ${plural(num(m, 'reviser_train_rows') ?? 0, 'feedback pair')}, ${plural(rsteps, 'step')}${rewardAccuracy(m, 'reviser_')}`,
    );
  else parts.push('reviser unchanged (no feedback pairs)');
  return parts.join('; ');
}

/** What `stage` produced, from its output row counts and metrics. */
export function describeOutputs(stage: Stage, o: OutputCounts, m: Record<string, unknown>): string {
  switch (stage) {
    case 'prepare':
      return `${plural(o.seeds ?? 0, 'seed')}${o.rejected ? `, ${o.rejected} rejected` : ''}`;
    case 'sft':
      return `warm-up model: ${plural(num(m, 'steps') ?? 0, 'step')} on ${plural(num(m, 'train_rows') ?? 0, 'example')}${num(m, 'examples_items') !== undefined ? ` from ${plural(num(m, 'examples_items')!, 'item')}` : ''}${lossText(num(m, 'first_loss'), num(m, 'final_loss'))}`;
    case 'sample': {
      const split =
        num(m, 'normal') !== undefined
          ? ` (${num(m, 'normal')} normal, ${num(m, 'contrastive') ?? 0} contrastive)`
          : '';
      return `${plural(o.responses ?? 0, 'response')}${split}`;
    }
    case 'verify':
      return `${plural(o.verdicts ?? 0, 'verdict')}${passed(m)}`;
    case 'revise':
      return plural(o.revisions ?? 0, 'revision');
    case 'verify_revisions':
      return `${plural(o.revision_verdicts ?? 0, 'verdict')} on refinements${passed(m)}`;
    case 'pair':
      return `${plural(o.pairs ?? 0, 'pair')}, ${plural(o.feedback_pairs ?? 0, 'feedback pair')}, ${plural(o.challenging ?? 0, 'challenging seed')}`;
    case 'train':
      return training(m, o);
    case 'eval': {
      const overall = num(m, 'overall');
      return overall !== undefined
        ? `held-out accuracy ${pct(overall)}${num(m, 'n') ? ` on ${plural(num(m, 'n')!, 'item')}` : ''}`
        : 'evaluated';
    }
    case 'report':
      return 'report.md and accuracy.png written';
    case 'advance':
      // The last round's advance opens no round (summed manifests drop its `completed: true`).
      if (m.completed === true || num(m, 'next_round') === undefined) return 'last round done: run complete';
      return `round ${num(m, 'next_round')} opens with ${plural(num(m, 'seeds') ?? 0, 'seed')} in ${plural(num(m, 'shards') ?? 0, 'shard')}`;
  }
}

/** `1234` ms → "1.2 s"; `125000` → "2m05s"; `3725000` → "1h02m". */
export function duration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 59.5) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const whole = Math.round(s);
  const m = Math.floor(whole / 60);
  if (m < 60) return `${m}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * What a running job last reported, in words: "policy DPO 120/500, loss 0.412, reward acc 62%,
 * 1830 tok/s" (each part only when reported), "starting" before its first report.
 */
export function reportWords(p: JobProgress | undefined): string {
  const m = p?.metrics ?? {};
  const phase = typeof m.phase === 'string' ? m.phase : '';
  const count = p && p.total > 0 ? `${p.done}/${p.total}` : '';
  const loss = typeof m.loss === 'number' ? `, loss ${m.loss.toFixed(3)}` : '';
  const acc = typeof m.reward_accuracy === 'number' ? `, reward acc ${Math.round(100 * m.reward_accuracy)}%` : '';
  const speed = typeof m.tokens_per_s === 'number' ? `, ${Math.round(m.tokens_per_s)} tok/s` : '';
  return `${[phase, count].filter(Boolean).join(' ') || 'starting'}${loss}${acc}${speed}`;
}

/**
 * A job running now, as `ipa status` and the dashboard show it: what it reports, the estimate of
 * its phase, and since when and where it runs, e.g. "policy DPO 120/500, loss 0.412, reward acc
 * 62%, 1830 tok/s, ~14m10s left (25m02s, attempt 2, worker gpu-3-4411)".
 */
export function runningWords(j: LiveJob, now: number): string {
  const eta = j.eta_ms !== undefined ? `, ~${duration(j.eta_ms)} left` : '';
  const attempt = j.attempt > 1 ? `, attempt ${j.attempt}` : '';
  return `${reportWords(j)}${eta} (${duration(now - Date.parse(j.started_at))}${attempt}, worker ${j.worker})`;
}
