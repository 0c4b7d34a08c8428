/** results.md: the machine, then one table of every row (median, min–max, ratio, goal, result). */
import type { Results, Stats } from './types.js';

function num(x: number): string {
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a >= 0.01) return x.toFixed(3);
  return x.toPrecision(2);
}

const cell = (s: Stats) => `${num(s.median)} (${num(s.min)}–${num(s.max)})`;

export function markdown(r: Results): string {
  const m = r.machine;
  const out = [
    `# Benchmarks${r.quick ? ' (--quick)' : ''}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB; load average at start ${m.load_average.join(' / ')} (shared with other users). ` +
      `Node ${m.node}, Python ${m.python}, torch ${m.torch}, transformers ${m.transformers}, TRL ${m.trl}, BullMQ ${m.bullmq}, Redis ${m.redis}; ${m.os}.`,
    '',
    `Started ${r.started_at}, took ${r.seconds.toFixed(0)} s. Each cell: median (min–max) over n repetitions; ratio = ours / baseline of the medians unless noted. Ours and its baseline ran side by side, interleaved, in this one run.`,
    '',
    '| benchmark | metric | unit | n | ours | baseline | ratio | goal | result |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const b of r.benchmarks) {
    for (const row of b.rows) {
      const ratio = `${row.ratio.toFixed(3)}${row.ratio_note ? ` (${row.ratio_note})` : ''}`;
      out.push(
        `| ${b.name} | ${row.metric} | ${row.unit} | ${row.ours.n} | ${cell(row.ours)} | ${cell(row.baseline)} | ${ratio} | ${row.goal?.text ?? '—'} | ${row.status === 'info' ? '—' : `**${row.status}**`} |`,
      );
    }
  }
  out.push('');
  for (const b of r.benchmarks) {
    out.push(
      `## ${b.title}`,
      '',
      `- ours: ${b.ours}`,
      `- baseline: ${b.baseline}`,
      ...b.notes.map((n) => `- ${n}`),
      `- took ${b.seconds.toFixed(1)} s`,
      '',
    );
  }
  return out.join('\n');
}
