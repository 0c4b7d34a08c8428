import { loadRecipe } from '../../recipe/load.js';
import { ablationRows, ablationTable, checkAblatable, sameOrdering, writeNoContrastiveVariant } from '../../report/ablation.js';
import { roundResults } from '../../report/results.js';
import { LocalSession } from '../../run/local-session.js';
import { submitRun } from '../../run/submit.js';
import { waitForRun } from '../../run/wait.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { COMMON_HELP, parse, prefix, redisUrl, WORKER_TIMING_HELP, workerTiming, workerTimingOptions } from '../context.js';

export const command: Command = {
  name: 'ablate',
  summary: "Run the paper's ablation rows on a recipe and print them beside the paper's",
  help: `Usage: ipa ablate RECIPE [--lock-ms MS] [--stalled-ms MS] [--json]

Runs two recipes through the queue: RECIPE as written (its per-round evaluations give the rows
"round 1", "+ round 2", "+ round 3" and the baseline) and a variant with one round and no
contrastive samples ("round 1 without contrastive"). The recipe needs three rounds and
eval.after: every_round. Prints the table beside the paper's figures and whether our rows keep
the paper's ordering. Redis and the in-process worker work as in \`ipa run\`.
Examples:
  ipa ablate recipes/tiny.yaml

${WORKER_TIMING_HELP}

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...workerTimingOptions });
    const file = positionals[0];
    if (!file) throw new CliError('missing RECIPE', ExitCode.usage);
    const worker = workerTiming(values);
    const { recipe } = loadRecipe(file);
    checkAblatable(recipe);
    const variantFile = writeNoContrastiveVariant(file, recipe.name);
    const variant = loadRecipe(variantFile).recipe;
    const session = await LocalSession.open({ redisUrl: redisUrl(values), prefix: prefix(values), worker });
    try {
      const full = await submitRun({ recipe, recipeFile: file, queues: session.queues, runsDir: values['runs-dir'] });
      const noc = await submitRun({ recipe: variant, recipeFile: variantFile, queues: session.queues, runsDir: values['runs-dir'] });
      console.error(`runs ${full.id} and ${noc.id}`);
      if (!(await session.hasWorkers())) await session.startWorker();
      const states = await Promise.all([waitForRun(full), waitForRun(noc)]);
      if (states.some((s) => s !== 'completed')) throw new CliError(`ablation runs ended ${states.join(', ')}`, ExitCode.failed);
      const rows = ablationRows(roundResults(full), roundResults(noc));
      const ordered = sameOrdering(rows);
      if (values.json) console.log(JSON.stringify({ runs: [full.id, noc.id], rows, same_ordering: ordered }, null, 2));
      else console.log(`${ablationTable(rows)}\n\nsame ordering as the paper: ${ordered ? 'yes' : 'no'}`);
      return ExitCode.ok;
    } finally {
      await session.close();
    }
  },
};
