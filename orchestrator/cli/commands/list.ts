import { RunStore } from '../../store/run-store.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, parse, runsDir } from '../context.js';

export const command: Command = {
  name: 'list',
  summary: 'List runs in the runs directory',
  help: `Usage: ipa list [--json] [--runs-dir DIR]\n\n${COMMON_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {}, false);
    const runs = RunStore.list(runsDir(values));
    if (values.json) console.log(JSON.stringify(runs, null, 2));
    else if (!runs.length) console.log(`no runs under ${runsDir(values)}`);
    else for (const r of runs) console.log(`${r.id.padEnd(40)} ${r.state.padEnd(10)} rounds ${r.rounds}  created ${r.created_at}`);
    return ExitCode.ok;
  },
};
