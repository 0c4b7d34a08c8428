import { knownRuns, readInfo } from '../../store/run-lookup.js';
import { registeredRuns, registryFile } from '../../store/run-registry.js';
import { ExitCode, type Command } from '../command.js';
import { COMMON_HELP, parse, runsDir } from '../context.js';
import { runTable } from '../run-table.js';

export const command: Command = {
  name: 'list',
  summary: 'List runs: the runs folder and every run registered by this user, with where each is',
  help: `Usage: ipa list [--json] [--runs-dir DIR]

Shows the runs under the runs folder and those in the per-user registry
($IPA_STATE_DIR, else $XDG_STATE_HOME/ipa, else ~/.local/state/ipa: runs.jsonl), which
\`ipa submit\` and \`ipa run\` append to, so runs kept beside a recipe elsewhere are listed too.
A registered run whose directory is gone is marked "gone". One id names one run, the one whose
run.json holds it: a registry line that gives an id to a folder holding another, or to a second
folder while the first still holds it, is marked "conflict" and ignored when runs are looked up.

${COMMON_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {}, false);
    // A run whose run.json cannot be read is listed with the reason; the others as usual.
    const runs = knownRuns(runsDir(values), registeredRuns());
    if (values.json) {
      const entries = runs.map((r) => {
        if (r.conflict) return { id: r.id, dir: r.dir, missing: false, conflict: r.conflict };
        const { info, damaged } = readInfo(r);
        return { ...info, id: r.id, dir: r.dir, missing: r.missing, ...(damaged ? { damaged } : {}) };
      });
      console.log(JSON.stringify(entries, null, 2));
    } else if (!runs.length) console.log(`no runs under ${runsDir(values)} or in ${registryFile()}`);
    else console.log(runTable(runs));
    return ExitCode.ok;
  },
};
