import { scanRun } from '../../store/integrity.js';
import { liveJobProgress } from '../../store/job-progress.js';
import { buildManifest } from '../../store/manifest.js';
import { benchmarkReport, benchmarkSections } from '../../report/report-input.js';
import { roundResults, resultsTable } from '../../report/results.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse, runsDir } from '../context.js';
import { continueCommand, repairAdvice } from '../continue-command.js';
import { damageLines, damageSummary } from '../damage-report.js';
import { renderStatus } from '../render.js';

export const command: Command = {
  name: 'status',
  summary: 'Rounds × stages of a run: what each stage produced, progress bars, problems, results',
  help: `Usage: ipa status RUN [--json]

Reads the run directory (works without Redis). Each stage shows its jobs done and what they
produced (responses, verdicts, pairs, ...), an estimate for unfinished stages, and under it each
job running now, whichever worker runs it: its phase, step/total, loss, reward accuracy, tokens/s
and the time its phase still needs at its steps' rate (from runs/<id>/progress/). Then the run's
problems (rejected seed rows, rounds without pairs), the per-round results, and every evaluated
benchmark from round 0 (the starting model) to the last evaluated round, with the paper's
figures beside them when the recipe sets eval.compare_with_paper. "–" marks a number the run
has not produced (a round that was not evaluated, a benchmark it did not run).
Damage (unreadable records, outputs that no longer match their records, stray shard files) is
listed after the status, and the exit code is then 3; model folders are checked by ipa verify.
--json prints the manifest:
{ run: {id, state, ...}, rounds: [{round, shards, stages: [{stage, jobs, done, attempts, rows, outputs, ...}], eval}], jobs: {...}, totals,
  running: [{job_id, round, stage, shard, worker, attempt, started_at, updated_at, done, total, phase, metrics, eta_ms}],
  results: [...], benchmarks: [{benchmark, backend, metric, values, baseline, final, change}], paper: [...] | null, damage: [...] }
RUN is a run id, the start of one, or a run directory; a start that fits several runs lists them.
Examples:
  ipa status tiny-20261126
  ipa status runs/tiny-20261126-101500-ab12 --json | jq .totals

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const store = findRun(values, positionals[0]);
    // Damage first: a run file that cannot be read ends here (exit 3); damaged outputs are listed
    // after the status and also exit 3. Model folders are left to `ipa verify` (hashing them is slow).
    store.info();
    store.recipe();
    const damage = scanRun(store, { folders: false });
    const m = buildManifest(store);
    const results = roundResults(store);
    const { benchmarks, paper } = benchmarkReport(store);
    const running = liveJobProgress(store);
    if (values.json) console.log(JSON.stringify({ ...m, running, results, benchmarks, paper, damage }, null, 2));
    else {
      const status = renderStatus(m, {
        dir: store.dir,
        continueWith: continueCommand(store, runsDir(values)),
        running,
      });
      console.log(
        [status, '', resultsTable(results), '', ...benchmarkSections(benchmarks, paper)].join('\n').trimEnd(),
      );
      if (damage.length)
        console.log(
          [
            `\ndamaged: ${damageSummary(damage)}`,
            ...damageLines(damage),
            `${repairAdvice(store, runsDir(values))}; \`ipa verify ${store.id}\` also checks model folders.`,
          ].join('\n'),
        );
    }
    return damage.length ? ExitCode.invalidInput : ExitCode.ok;
  },
};
