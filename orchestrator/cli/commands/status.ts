import { buildManifest } from '../../store/manifest.js';
import { benchmarkReport, benchmarkSections } from '../../report/report-input.js';
import { roundResults, resultsTable } from '../../report/results.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse } from '../context.js';
import { renderStatus } from '../render.js';

export const command: Command = {
  name: 'status',
  summary: 'Rounds × stages of a run: counts, progress bars, results',
  help: `Usage: ipa status RUN [--json]

Reads the run directory (works without Redis): stages and progress, the per-round results, and
every evaluated benchmark from round 0 (the starting model) to the last evaluated round, with the
paper's figures beside them when the recipe sets eval.compare_with_paper. "–" marks a number the
run has not produced (a round that was not evaluated, a benchmark it did not run).
--json prints the manifest:
{ run: {id, state, ...}, rounds: [{round, shards, stages: [{stage, jobs, done, attempts, rows, ...}], eval}], jobs: {...}, totals,
  results: [...], benchmarks: [{benchmark, backend, metric, values, baseline, final, change}], paper: [...] | null }
Examples:
  ipa status tiny-20261126
  ipa status runs/tiny-20261126-101500-ab12 --json | jq .totals

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const store = findRun(values, positionals[0]);
    const m = buildManifest(store);
    const results = roundResults(store);
    const { benchmarks, paper } = benchmarkReport(store);
    if (values.json) console.log(JSON.stringify({ ...m, results, benchmarks, paper }, null, 2));
    else console.log([renderStatus(m), '', resultsTable(results), '', ...benchmarkSections(benchmarks, paper)].join('\n').trimEnd());
    return ExitCode.ok;
  },
};
