import { LogTail } from '../../store/log-tail.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse } from '../context.js';

export const command: Command = {
  name: 'logs',
  summary: 'Show a run\'s job logs (Python output, errors with tracebacks); filter and follow',
  help: `Usage: ipa logs RUN [--round R] [--stage S] [--shard N] [--follow]

Each line is prefixed with its job id (run.round.stage.shard).
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
    const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    const tail = new LogTail(store, { round: num(values.round), stage: values.stage, shard: num(values.shard) });
    await tail.follow(({ job, line }) => console.log(values.json ? JSON.stringify({ job, line }) : `${job} | ${line}`), { follow: values.follow });
    return ExitCode.ok;
  },
};
