import { buildManifest } from '../../store/manifest.js';
import { jobLogFiles, LogTail } from '../../store/log-tail.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse } from '../context.js';
import { checkLogFilter } from '../log-filter.js';

export const command: Command = {
  name: 'logs',
  summary: "Show a run's job logs (Python output, errors with tracebacks); filter and follow",
  help: `Usage: ipa logs RUN [--round R] [--stage S] [--shard N] [--follow]

Each line is prefixed with its job id (run.round.stage.shard). Every job has a log: when and
where each try started and how it ended, plus the Python stage's own lines for stages that run
there. A round, stage or shard the run does not have, and that its recipe will not give it, is
a usage error (exit 2) that lists the ones it has. --follow reads until the run ends, and waits
for jobs not started yet: \`--stage train --follow\` may be given before round 1 is planned.
The orchestrator's own lines about the run are in runs/<id>/logs/orchestrator.jsonl.
Examples:
  ipa logs tiny-2026 --stage train --round 2
  ipa logs tiny-2026 --follow

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      round: { type: 'string' },
      stage: { type: 'string' },
      shard: { type: 'string' },
      follow: { type: 'boolean', short: 'f', default: false },
    });
    const store = findRun(values, positionals[0]);
    const checked = checkLogFilter(buildManifest(store), values, store.recipe());
    if ('problem' in checked) throw new CliError(checked.problem, ExitCode.usage);
    if (!values.follow && !jobLogFiles(store, checked.filter).length) {
      console.error(
        `no job logs yet for that selection of run ${store.id}: its jobs have not started (--follow waits for them)`,
      );
      return ExitCode.ok;
    }
    const tail = new LogTail(store, checked.filter);
    await tail.follow(
      ({ job, line }) => console.log(values.json ? JSON.stringify({ job, line }) : `${job} | ${line}`),
      { follow: values.follow },
    );
    return ExitCode.ok;
  },
};
