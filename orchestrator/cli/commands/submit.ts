import { formatIssue } from '../../recipe/errors.js';
import { loadRecipe } from '../../recipe/load.js';
import { submitRun } from '../../run/submit.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { closeQueues, COMMON_HELP, openQueues, parse } from '../context.js';

export const command: Command = {
  name: 'submit',
  summary: 'Queue a run from a recipe and return at once (workers run it)',
  help: `Usage: ipa submit RECIPE [--id ID] [--allow-eviction] [options]

Validates the recipe, creates runs/<id>/ and queues round 0. Prints the run id.
A Redis whose maxmemory-policy may evict keys is refused (exit code 4): BullMQ would lose jobs.
--allow-eviction submits anyway.
Examples:
  ipa submit recipes/qwen2vl-7b-ipa.yaml --redis-url redis://:pw@redis:6379
  ipa submit recipes/tiny.yaml --json

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      id: { type: 'string' },
      'allow-eviction': { type: 'boolean', default: false },
    });
    if (!positionals[0]) throw new CliError('missing RECIPE', ExitCode.usage);
    const { recipe, warnings } = loadRecipe(positionals[0]);
    for (const w of warnings) console.error(`warning: ${formatIssue(w)}`);
    const queues = await openQueues(values);
    try {
      const store = await submitRun({
        recipe,
        recipeFile: positionals[0],
        queues,
        id: values.id,
        runsDir: values['runs-dir'],
        allowEviction: values['allow-eviction'],
      });
      console.log(values.json ? JSON.stringify({ id: store.id, dir: store.dir }) : store.id);
      return ExitCode.ok;
    } finally {
      await closeQueues(queues);
    }
  },
};
