import { RunStore } from '../../store/run-store.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, parse, runsDir } from '../context.js';

export const command: Command = {
  name: 'list',
  summary: 'List runs in the runs directory',
  help: `Usage: ipa list [--json] [--runs-dir DIR]\n\n${COMMON_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {}, false);
    // A run whose run.json cannot be read is listed with the reason; the others as usual.
    const runs = RunStore.listAll(runsDir(values));
    if (values.json) console.log(JSON.stringify(runs.map((r) => r.info ?? { id: r.id, damaged: r.damaged }), null, 2));
    else if (!runs.length) console.log(`no runs under ${runsDir(values)}`);
    else
      for (const r of runs) {
        if (r.info) console.log(`${r.id.padEnd(40)} ${r.info.state.padEnd(10)} rounds ${r.info.rounds}  created ${r.info.created_at}`);
        else console.log(`${r.id.padEnd(40)} ${'damaged'.padEnd(10)} ${r.damaged}`);
      }
    return ExitCode.ok;
  },
};
