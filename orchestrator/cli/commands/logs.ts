import { buildManifest } from '../../store/manifest.js';
import { jobLogFiles, LogTail } from '../../store/log-tail.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse } from '../context.js';
import { checkLogFilter } from '../log-filter.js';

export const command: Command = {
  name: 'logs',
  summary: 'Show a run\'s job logs (Python output, errors with tracebacks); filter and follow',
  help: `Usage: ipa logs RUN [--round R] [--stage S] [--shard N] [--follow]

Each line is prefixed with its job id (run.round.stage.shard). A round, stage or shard the run
does not have is a usage error (exit 2) that lists the ones it has. The orchestrator's own lines
about the run are in runs/<id>/logs/orchestrator.jsonl.
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
    const checked = checkLogFilter(buildManifest(store), values);
    if ('problem' in checked) throw new CliError(checked.problem, ExitCode.usage);
    if (!values.follow && !jobLogFiles(store, checked.filter).length) {
      console.error(`no job logs yet for that selection of run ${store.id} (a job writes its log when it runs)`);
      return ExitCode.ok;
    }
    const tail = new LogTail(store, checked.filter);
    await tail.follow(({ job, line }) => console.log(values.json ? JSON.stringify({ job, line }) : `${job} | ${line}`), { follow: values.follow });
    return ExitCode.ok;
  },
};
