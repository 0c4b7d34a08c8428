import { buildManifest } from '../../store/manifest.js';
import { roundResults, resultsTable } from '../../report/results.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse } from '../context.js';
import { renderStatus } from '../render.js';

export const command: Command = {
  name: 'status',
  summary: 'Rounds × stages of a run: counts, progress bars, results',
  help: `Usage: ipa status RUN [--json]

Reads the run directory (works without Redis). --json prints the manifest:
{ run: {id, state, ...}, rounds: [{round, shards, stages: [{stage, jobs, done, attempts, rows, ...}], eval}], jobs: {...}, totals, results: [...] }
Examples:
  ipa status tiny-20261126
  ipa status runs/tiny-20261126-101500-ab12 --json | jq .totals

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const store = findRun(values, positionals[0]);
    const m = buildManifest(store);
    const results = roundResults(store);
    if (values.json) console.log(JSON.stringify({ ...m, results }, null, 2));
    else console.log(`${renderStatus(m)}\n\n${resultsTable(results)}`);
    return ExitCode.ok;
  },
};
