import { ExitCode, type Command, CliError } from '../command.js';
import { COMMON_HELP, findRun, parse } from '../context.js';

export const command: Command = {
  name: 'pause',
  summary: 'Pause a run: running jobs finish, no new job of the run starts',
  help: `Usage: ipa pause RUN\n\nJobs of a paused run wait (delayed) until \`ipa resume RUN\`.\n\n${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const store = findRun(values, positionals[0]);
    const s = store.info().state;
    if (s !== 'running' && s !== 'queued') throw new CliError(`run ${store.id} is ${s}; only queued or running runs can be paused`, ExitCode.failed);
    store.setState('paused');
    console.log(values.json ? JSON.stringify({ id: store.id, state: 'paused' }) : `paused ${store.id}`);
    return ExitCode.ok;
  },
};
