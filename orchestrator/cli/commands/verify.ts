import { scanRun } from '../../store/integrity.js';
import { ExitCode, type Command } from '../command.js';
import { repairAdvice } from '../continue-command.js';
import { damageLines, damageSummary } from '../damage-report.js';
import { COMMON_HELP, findRun, parse, runsDir } from '../context.js';

export const command: Command = {
  name: 'verify',
  summary: 'Check a run directory against its done records and list what is damaged (like git fsck)',
  help: `Usage: ipa verify RUN [--no-folders] [--json]

Reads the run directory only (no Redis). Checks that run.json and recipe.json parse, that every
done record parses, and that every output it names is inside the run directory, present, and
matches the sha256 the record holds (model folders by their folder digest: slow for large
checkpoints; --no-folders skips them). Shard and eval files that no record names are listed as
stray: they are never used. Exit code 0 when nothing is wrong, 3 when something is.
\`ipa run RUN\` computes the damaged outputs, and everything made from them, again, here (a
private Redis and an in-process worker); for workers on a shared Redis, \`ipa resume RUN\`
queues them instead.
Examples:
  ipa verify tiny-20261126
  ipa verify runs/tiny-20261126-101500-ab12 --json | jq '.damage[].file'

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { 'no-folders': { type: 'boolean', default: false } });
    const store = findRun(values, positionals[0]);
    const damage = scanRun(store, { folders: !values['no-folders'] });
    if (values.json)
      console.log(JSON.stringify({ id: store.id, dir: store.dir, ok: damage.length === 0, damage }, null, 2));
    else if (!damage.length)
      console.log(
        `${store.id}: ok, every done record and output is intact${values['no-folders'] ? ' (model folders not checked)' : ''}`,
      );
    else
      console.log(
        [
          `${store.id}: ${damageSummary(damage)}`,
          ...damageLines(damage),
          `${repairAdvice(store, runsDir(values))}.`,
        ].join('\n'),
      );
    return damage.length ? ExitCode.invalidInput : ExitCode.ok;
  },
};
