import { waitForRun } from '../../run/wait.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse } from '../context.js';
import { renderStatus } from '../render.js';

export const command: Command = {
  name: 'watch',
  summary: 'Live status of a run until it ends (Ctrl-C to stop watching)',
  help: `Usage: ipa watch RUN [--interval MS] [--json]\n\n--json prints one manifest per line when it changes.\n\n${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { interval: { type: 'string', default: '1000' } });
    const store = findRun(values, positionals[0]);
    let last = '';
    const state = await waitForRun(store, {
      pollMs: Number(values.interval),
      onPoll: (m) => {
        const text = values.json ? JSON.stringify(m) : renderStatus(m);
        if (text === last) return;
        if (!values.json && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
        console.log(text);
        last = text;
      },
    });
    return state === 'completed' ? ExitCode.ok : ExitCode.failed;
  },
};
