import { loadRecipe } from '../../recipe/load.js';
import { ablationRows, ablationTable, checkAblatable, sameOrdering, writeNoContrastiveVariant } from '../../report/ablation.js';
import { baselineRows, baselinesTable } from '../../report/baselines.js';
import { roundResults } from '../../report/results.js';
import { runBaselines } from '../../run/baselines.js';
import { LocalSession } from '../../run/local-session.js';
import { submitRun } from '../../run/submit.js';
import { waitForRun } from '../../run/wait.js';
import { rootLogger } from '../../log.js';
import type { RunStore } from '../../store/run-store.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { COMMON_HELP, parse, prefix, redisUrl, runsDir, WORKER_TIMING_HELP, workerTiming, workerTimingOptions } from '../context.js';
import { continueCommand } from '../continue-command.js';
import { onInterrupt } from '../interrupt.js';
import { exitAfter, exitNow, orderlyPart, stopHelp, stopMs, stopOptions } from '../stop.js';

export const command: Command = {
  name: 'ablate',
  summary: "Run the paper's ablation rows on a recipe and print them beside the paper's",
  help: `Usage: ipa ablate RECIPE [--baselines [--seeds 7,8,9] [--split heldout|validation]]
                        [--lock-ms MS] [--stalled-ms MS] [--stop-ms MS] [--json]

Without --baselines: runs two recipes through the queue: RECIPE as written (its per-round
evaluations give the rows "round 1", "+ round 2", "+ round 3" and the baseline) and a variant with
one round and no contrastive samples ("round 1 without contrastive"). Prints the table beside the
paper's figures and whether our rows keep the paper's ordering.

With --baselines: per seed, RECIPE as written and, starting from its warm-up model, three
one-round baselines at the same seeds and sample budget: SFT on the seeds' references, RFT (SFT
on the model's own verified samples) and IPA round 1 without contrastive samples but with K + K'
normal samples. Prints every row's mean ± standard deviation over the seeds (and each seed),
beside the paper's ablation. --split picks the synthetic split scored (default: the recipe's
data.synthetic.eval_split); choose settings on validation, report heldout.

The recipe needs three rounds and eval.after: every_round. Redis and the in-process worker work
as in \`ipa run\`.
Examples:
  ipa ablate recipes/tiny.yaml
  ipa ablate recipes/tiny.yaml --baselines --seeds 7,8,9

${WORKER_TIMING_HELP}

${stopHelp("the ablation's runs are marked interrupted (each is continued with ipa run RUN, as printed), running jobs are handed back, the private Redis stops")}

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      ...workerTimingOptions,
      ...stopOptions,
      baselines: { type: 'boolean', default: false },
      seeds: { type: 'string', default: '7,8,9' },
      split: { type: 'string' },
    });
    const file = positionals[0];
    if (!file) throw new CliError('missing RECIPE', ExitCode.usage);
    const worker = workerTiming(values);
    const stop = stopMs(values);
    const { recipe } = loadRecipe(file);
    checkAblatable(recipe);
    let seeds: number[] = [];
    let split: 'heldout' | 'validation' = recipe.data.synthetic.eval_split;
    if (values.baselines) {
      seeds = values.seeds.split(',').map((x) => Number(x.trim()));
      if (!seeds.length || seeds.some((x) => !Number.isInteger(x))) throw new CliError('--seeds takes integers separated by commas, e.g. 7,8,9', ExitCode.usage);
      if (values.split !== undefined && values.split !== 'heldout' && values.split !== 'validation') throw new CliError('--split is heldout or validation', ExitCode.usage);
      split = (values.split as 'heldout' | 'validation' | undefined) ?? split;
    }
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
        rootLogger.warn(`${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping — the ablation's runs are marked interrupted, running jobs go back to the queue (Ctrl-C again to exit at once)`);
        exitAfter(stop, ExitCode.interrupted, () => session?.pythonPids() ?? []);
        onStop();
      },
      again: () => exitNow(session?.pythonPids() ?? [], ExitCode.interrupted),
    });
    try {
      const t0 = Date.now();
      session = await LocalSession.open({ redisUrl: redisUrl(values), prefix: prefix(values), worker });
      const queues = session.queues;
      const startWorker = async () => {
        if (!stopping && !(await session!.hasWorkers())) await session!.startWorker();
      };
      const work = values.baselines
        ? (async () => {
            await startWorker();
            const results = await runBaselines({ recipeFile: file, seeds, split, queues, runsDir: values['runs-dir'], onSubmit: (label, store) => (track(store), console.error(`${label} → ${store.id}`)) });
            const rows = baselineRows(results);
            const minutes = (Date.now() - t0) / 60_000;
            if (values.json) console.log(JSON.stringify({ seeds, split, minutes, rows }, null, 2));
            else console.log(`${baselinesTable(rows, seeds, split)}\n\n${seeds.length} seeds, ${4 * seeds.length} runs in ${minutes.toFixed(1)} min`);
          })()
        : (async () => {
            const variantFile = writeNoContrastiveVariant(file, recipe.name);
            const variant = loadRecipe(variantFile).recipe;
            const full = await submitRun({ recipe, recipeFile: file, queues, runsDir: values['runs-dir'] });
            track(full);
            const noc = await submitRun({ recipe: variant, recipeFile: variantFile, queues, runsDir: values['runs-dir'] });
            track(noc);
            console.error(`runs ${full.id} and ${noc.id}`);
            await startWorker();
            const states = await Promise.all([waitForRun(full), waitForRun(noc)]);
            if (stopping) return;
            if (states.some((s) => s !== 'completed')) throw new CliError(`ablation runs ended ${states.join(', ')}`, ExitCode.failed);
            const rows = ablationRows(roundResults(full), roundResults(noc));
            const ordered = sameOrdering(rows);
            if (values.json) console.log(JSON.stringify({ runs: [full.id, noc.id], rows, same_ordering: ordered }, null, 2));
            else console.log(`${ablationTable(rows)}\n\nsame ordering as the paper: ${ordered ? 'yes' : 'no'}`);
          })();
      // Once stopped, what the work still does (a submit, a wait) no longer matters.
      work.catch(() => undefined);
      if ((await Promise.race([work.then(() => 'done' as const), stopped])) === 'done' && !stopping) return ExitCode.ok;
      await session.close({ graceMs: 0, stopMs: orderlyPart(stop) });
      session = undefined;
      for (const s of submitted.filter((x) => x.info().state === 'interrupted')) rootLogger.info(`run ${s.id} interrupted: continue it with:  ${continueCommand(s, runsDir(values), redisUrl(values))}`);
      rootLogger.info('ipa ablate prints its table once every run has completed: run it again for new runs');
      return ExitCode.interrupted;
    } finally {
      await session?.close(stopping ? { graceMs: 0, stopMs: orderlyPart(stop) } : {});
      dispose();
    }
  },
};
