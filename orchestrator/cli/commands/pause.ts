import { pauseRun } from '../../run/pause.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse } from '../context.js';

export const command: Command = {
  name: 'pause',
  summary: 'Pause a run: running jobs finish, no new job of the run starts',
  help: `Usage: ipa pause RUN\n\nJobs of a paused run wait (delayed) until \`ipa resume RUN\`.\n\n${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const store = findRun(values, positionals[0]);
    pauseRun(store);
    console.log(values.json ? JSON.stringify({ id: store.id, state: 'paused' }) : `paused ${store.id}`);
    return ExitCode.ok;
  },
};
