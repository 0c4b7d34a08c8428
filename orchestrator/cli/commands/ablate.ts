import { loadRecipe } from '../../recipe/load.js';
import type { Recipe } from '../../recipe/schema.js';
import {
  ablationRows,
  ablationTable,
  checkAblatable,
  sameOrdering,
  writeNoContrastiveVariant,
} from '../../report/ablation.js';
import { baselinesMarkdown } from '../../report/baselines-report.js';
import { GRID_OBJECTIVES, gridTable, type GridObjective } from '../../report/grid.js';
import { roundResults } from '../../report/results.js';
import { ablationDir, writeAblation } from '../../run/ablation-output.js';
import { runBaselines } from '../../run/baselines.js';
import { runGrid } from '../../run/grid.js';
import { LocalSession } from '../../run/local-session.js';
import { submitRun } from '../../run/submit.js';
import { waitForRun } from '../../run/wait.js';
import { rootLogger } from '../../log.js';
import type { RunStore } from '../../store/run-store.js';
import { CliError, ExitCode, type Command } from '../command.js';
import {
  COMMON_HELP,
  parse,
  prefix,
  redisUrl,
  runsDir,
  WORKER_TIMING_HELP,
  workerTiming,
  workerTimingOptions,
} from '../context.js';
import { continueCommand } from '../continue-command.js';
import { onInterrupt } from '../interrupt.js';
import { exitAfter, exitNow, orderlyPart, stopHelp, stopMs, stopOptions } from '../stop.js';

const numbers = (text: string, what: string, integer = false): number[] => {
  const xs = text.split(',').map((x) => Number(x.trim()));
  if (!xs.length || xs.some((x) => !Number.isFinite(x) || (integer && !Number.isInteger(x))))
    throw new CliError(`${what} takes ${integer ? 'integers' : 'numbers'} separated by commas`, ExitCode.usage);
  return xs;
};

export const command: Command = {
  name: 'ablate',
  summary: "Run the paper's ablation rows on a recipe and print them beside the paper's",
  help: `Usage: ipa ablate RECIPE [--baselines [--seeds 7,8,9] [--split heldout|validation]]
                        [--grid --lr 3e-5,1e-4,3e-4 --epochs 1,3 [--objectives dpo,rft,sftref,oracle] [--seeds 7]]
                        [--lock-ms MS] [--stalled-ms MS] [--stop-ms MS] [--json]

Without --baselines: runs two recipes through the queue: RECIPE as written (its per-round
evaluations give the rows "round 1", "+ round 2", "+ round 3" and the baseline) and a variant with
one round and no contrastive samples but K + K' normal samples, the same budget ("round 1 without
contrastive"). Prints the table beside the paper's figures and whether our rows keep the paper's
ordering.

With --baselines: per seed, RECIPE as written and, starting from its warm-up model, four
one-round baselines at the same seeds and sample budget: SFT on the seeds' references, RFT (SFT
on the model's own verified samples), the oracle SFT on the synthetic task's checker-made answers
(the upper bound) and IPA round 1 without contrastive samples but with K + K' normal samples.
Prints every row's mean ± standard deviation over the seeds (and each seed) beside the paper's
ablation; on the premise task also fact accuracy and compliance, paired per-seed differences with
paired bootstrap intervals and the pre-registered criterion (docs/premise-preregistration.md). A
seed listed twice is run twice: the second run is the noise floor. --split picks the synthetic
split scored (default: the recipe's data.synthetic.eval_split); choose settings on validation,
report heldout.

With --grid: the tuning grid on the validation split: per seed, every objective (IPA's DPO, RFT,
SFT on the references, the oracle) trained one round from the same warm-up model at every
learning rate × epochs given; prints validation success and the steps each point took, best per
objective marked.

Every mode writes its tables and per-seed results to <runs dir>/ablations/<recipe>-<time>/
(ablation.md, ablation.json). The recipe needs three rounds and eval.after: every_round. Redis
and the in-process worker work as in \`ipa run\`.
Examples:
  ipa ablate recipes/tiny.yaml
  ipa ablate recipes/tiny.yaml --baselines --seeds 7,8,9,10,11,7
  ipa ablate recipes/tiny.yaml --grid --lr 3e-5,1e-4,3e-4 --epochs 1,3 --seeds 7

${WORKER_TIMING_HELP}

${stopHelp("the ablation's runs are marked interrupted (each is continued with ipa run RUN, as printed), running jobs are handed back, the private Redis stops")}

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      ...workerTimingOptions,
      ...stopOptions,
      baselines: { type: 'boolean', default: false },
      grid: { type: 'boolean', default: false },
      seeds: { type: 'string', default: '7,8,9' },
      split: { type: 'string' },
      lr: { type: 'string' },
      epochs: { type: 'string' },
      objectives: { type: 'string', default: GRID_OBJECTIVES.join(',') },
    });
    const file = positionals[0];
    if (!file) throw new CliError('missing RECIPE', ExitCode.usage);
    if (values.baselines && values.grid)
      throw new CliError('--baselines and --grid are separate runs: give one', ExitCode.usage);
    const worker = workerTiming(values);
    const stop = stopMs(values);
    const { recipe } = loadRecipe(file);
    checkAblatable(recipe);
    const out = ablationDir(values['runs-dir'] ?? recipe.runs_dir, recipe.name);
    const say = (markdown: string, json: unknown, minutes: number, what: string) => {
      const path = writeAblation(out, markdown, { ...(json as object), minutes });
      if (values.json) console.log(JSON.stringify({ ...(json as object), minutes, file: path }, null, 2));
      else console.log(`${markdown}\n\n${what} in ${minutes.toFixed(1)} min\nwritten to ${path}`);
    };
    const t0 = Date.now();
    const minutes = () => (Date.now() - t0) / 60_000;
    // A stop signal marks every run submitted so far (and any submitted after) interrupted, then
    // closes the session within --stop-ms; each run is continued on its own with `ipa run`.
    const submitted: RunStore[] = [];
    let stopping = false;
    let session: LocalSession | undefined;
    let onStop = () => undefined as void;
    const stopped = new Promise<'stopped'>((res) => (onStop = () => res('stopped')));
    const track = (store: RunStore) => {
      submitted.push(store);
      if (stopping) store.setState('interrupted');
    };
    const dispose = onInterrupt({
      first(signal) {
        stopping = true;
        submitted.forEach((s) => s.setState('interrupted'));
        rootLogger.warn(
          `${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping — the ablation's runs are marked interrupted, running jobs go back to the queue (Ctrl-C again to exit at once)`,
        );
        exitAfter(stop, ExitCode.interrupted, () => session?.pythonPids() ?? []);
        onStop();
      },
      again: () => exitNow(session?.pythonPids() ?? [], ExitCode.interrupted),
    });
    try {
      const open = await LocalSession.open({ redisUrl: redisUrl(values), prefix: prefix(values), worker });
      session = open;
      const startWorker = async () => {
        if (!stopping && !(await open.hasWorkers())) await open.startWorker();
      };
      const common = {
        recipeFile: file,
        queues: open.queues,
        runsDir: values['runs-dir'],
        onSubmit: (label: string, store: RunStore) => (track(store), console.error(`${label} → ${store.id}`)),
      };
      const work = (async () => {
        if (values.grid) {
          if (!values.lr || !values.epochs)
            throw new CliError('--grid needs --lr and --epochs (the same grid for every objective)', ExitCode.usage);
          const objectives = values.objectives.split(',').map((x) => x.trim()) as GridObjective[];
          const bad = objectives.filter((o) => !GRID_OBJECTIVES.includes(o));
          if (bad.length)
            throw new CliError(
              `--objectives takes ${GRID_OBJECTIVES.join(', ')}; not ${bad.join(', ')}`,
              ExitCode.usage,
            );
          const seeds = numbers(values.seeds, '--seeds', true);
          await startWorker();
          const results = await runGrid({
            ...common,
            seeds,
            objectives,
            learningRates: numbers(values.lr, '--lr'),
            epochs: numbers(values.epochs, '--epochs'),
          });
          say(
            `## Tuning grid (validation split)\n\n${gridTable(results)}`,
            { mode: 'grid', seeds, results },
            minutes(),
            `${results.length} runs`,
          );
        } else if (values.baselines) {
          const seeds = numbers(values.seeds, '--seeds', true);
          if (values.split !== undefined && values.split !== 'heldout' && values.split !== 'validation')
            throw new CliError('--split is heldout or validation', ExitCode.usage);
          const split = (values.split as 'heldout' | 'validation' | undefined) ?? recipe.data.synthetic.eval_split;
          await startWorker();
          const results = await runBaselines({ ...common, seeds, split });
          const json = { mode: 'baselines', seeds, split, results: results.map(({ items: _items, ...r }) => r) };
          say(baselinesMarkdown(results, split), json, minutes(), `${seeds.length} seeds, ${5 * seeds.length} runs`);
        } else
          await plain(
            file,
            recipe,
            open,
            values['runs-dir'],
            track,
            startWorker,
            () => stopping,
            (md, json) => say(md, json, minutes(), '2 runs'),
          );
      })();
      // Once stopped, what the work still does (a submit, a wait) no longer matters.
      work.catch(() => undefined);
      if ((await Promise.race([work.then(() => 'done' as const), stopped])) === 'done' && !stopping) return ExitCode.ok;
      await open.close({ graceMs: 0, stopMs: orderlyPart(stop) });
      session = undefined;
      for (const s of submitted.filter((x) => x.info().state === 'interrupted'))
        rootLogger.info(
          `run ${s.id} interrupted: continue it with:  ${continueCommand(s, runsDir(values), redisUrl(values))}`,
        );
      rootLogger.info('ipa ablate prints its table once every run has completed: run it again for new runs');
      return ExitCode.interrupted;
    } finally {
      await session?.close(stopping ? { graceMs: 0, stopMs: orderlyPart(stop) } : {});
      dispose();
    }
  },
};

/** The paper's ablation rows: RECIPE as written and its budget-matched one-round variant without contrastive samples. */
async function plain(
  file: string,
  recipe: Recipe,
  session: LocalSession,
  runsDir: string | undefined,
  track: (store: RunStore) => void,
  startWorker: () => Promise<void>,
  stopping: () => boolean,
  say: (md: string, json: unknown) => void,
): Promise<void> {
  const variantFile = writeNoContrastiveVariant(file, recipe.name);
  const variant = loadRecipe(variantFile).recipe;
  const full = await submitRun({ recipe, recipeFile: file, queues: session.queues, runsDir });
  track(full);
  const noc = await submitRun({ recipe: variant, recipeFile: variantFile, queues: session.queues, runsDir });
  track(noc);
  console.error(`runs ${full.id} and ${noc.id}`);
  await startWorker();
  const states = await Promise.all([waitForRun(full), waitForRun(noc)]);
  if (stopping()) return;
  if (states.some((s) => s !== 'completed'))
    throw new CliError(`ablation runs ended ${states.join(', ')}`, ExitCode.failed);
  const rows = ablationRows(roundResults(full), roundResults(noc));
  const ordered = sameOrdering(rows);
  say(`${ablationTable(rows)}\n\nsame ordering as the paper: ${ordered ? 'yes' : 'no'}`, {
    mode: 'paper',
    runs: [full.id, noc.id],
    rows,
    same_ordering: ordered,
  });
}
