import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { WorkerAgent } from '../../agent/agent.js';
import { listWorkers } from '../../agent/registry.js';
import { connect } from '../../queue/connection.js';
import { LocalRedis } from '../../queue/local-redis.js';
import { QueueSet } from '../../queue/queues.js';
import { loadRecipe } from '../../recipe/load.js';
import type { RecipeInput } from '../../recipe/schema.js';
import { ablationRows, ablationTable, noContrastiveVariant, sameOrdering } from '../../report/ablation.js';
import { roundResults } from '../../report/results.js';
import { submitRun } from '../../run/submit.js';
import { waitForRun } from '../../run/wait.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { COMMON_HELP, parse, prefix, redisUrl } from '../context.js';

export const command: Command = {
  name: 'ablate',
  summary: "Run the paper's ablation rows on a recipe and print them beside the paper's",
  help: `Usage: ipa ablate RECIPE [--json]

Runs two recipes through the queue: RECIPE as written (its per-round evaluations give the rows
"round 1", "+ round 2", "+ round 3" and the baseline) and a variant with one round and no
contrastive samples ("round 1 without contrastive"). The recipe needs three rounds and
eval.after: every_round. Prints the table beside the paper's figures and whether our rows keep
the paper's ordering.
Examples:
  ipa ablate recipes/tiny.yaml

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const file = positionals[0];
    if (!file) throw new CliError('missing RECIPE', ExitCode.usage);
    const { recipe } = loadRecipe(file);
    if (recipe.rounds.length !== 3 || recipe.eval.after !== 'every_round')
      throw new CliError('ablate needs a recipe with 3 rounds and eval.after: every_round', ExitCode.invalidInput);
    // The variant is written beside the recipe so its relative paths resolve the same way.
    const variantFile = join(dirname(file), `.${recipe.name}-nocontrastive.ablate.yaml`);
    writeFileSync(variantFile, stringify(noContrastiveVariant(parseYaml(readFileSync(file, 'utf8')) as RecipeInput)));
    const variant = loadRecipe(variantFile).recipe;
    let local: LocalRedis | undefined;
    let url = redisUrl(values);
    if (!url) {
      local = await LocalRedis.start();
      url = local.url;
    }
    const conn = connect(url);
    const queues = new QueueSet(conn, prefix(values));
    let agent: WorkerAgent | undefined;
    try {
      const full = await submitRun({ recipe, recipeFile: file, queues, runsDir: values['runs-dir'] });
      const noc = await submitRun({ recipe: variant, recipeFile: variantFile, queues, runsDir: values['runs-dir'] });
      console.error(`runs ${full.id} and ${noc.id}`);
      if (!(await listWorkers(conn, queues.prefix)).length) agent = await WorkerAgent.start({ redisUrl: url, prefix: queues.prefix });
      const states = await Promise.all([waitForRun(full), waitForRun(noc)]);
      if (states.some((s) => s !== 'completed')) throw new CliError(`ablation runs ended ${states.join(', ')}`, ExitCode.failed);
      const rows = ablationRows(roundResults(full), roundResults(noc));
      const ordered = sameOrdering(rows);
      if (values.json) console.log(JSON.stringify({ runs: [full.id, noc.id], rows, same_ordering: ordered }, null, 2));
      else console.log(`${ablationTable(rows)}\n\nsame ordering as the paper: ${ordered ? 'yes' : 'no'}`);
      return ExitCode.ok;
    } finally {
      await agent?.close(5000);
      await queues.close();
      await conn.quit().catch(() => undefined);
      await local?.stop();
    }
  },
};
