import { buildManifest } from '../../store/manifest.js';
import { roundResults, resultsTable } from '../../report/results.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse, runsDir } from '../context.js';
import { continueCommand } from '../continue-command.js';
import { renderStatus } from '../render.js';

export const command: Command = {
  name: 'status',
  summary: 'Rounds × stages of a run: what each stage produced, progress bars, problems, results',
  help: `Usage: ipa status RUN [--json]

Reads the run directory (works without Redis). Each stage shows its jobs done and what they
produced (responses, verdicts, pairs, ...), an estimate for unfinished stages, then the run's
problems (rejected seed rows, rounds without pairs) and the results table.
--json prints the manifest:
{ run: {id, state, ...}, rounds: [{round, shards, stages: [{stage, jobs, done, attempts, rows, outputs, ...}], eval}], jobs: {...}, totals, results: [...] }
RUN is a run id, the start of one, or a run directory; a start that fits several runs lists them.
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
    else console.log(`${renderStatus(m, { dir: store.dir, continueWith: continueCommand(store, runsDir(values)) })}\n\n${resultsTable(results)}`);
    return ExitCode.ok;
  },
};
