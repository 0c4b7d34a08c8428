import { existsSync, statSync } from 'node:fs';
import { rootLogger } from '../../log.js';
import { formatIssue } from '../../recipe/errors.js';
import { loadRecipe } from '../../recipe/load.js';
import { RunStore } from '../../store/run-store.js';
import { CliError, ExitCode, type Command } from '../command.js';
import {
  COMMON_HELP,
  findRun,
  LOG_HELP,
  logFormat,
  logOptions,
  parse,
  prefix,
  redisUrl,
  runPrefix,
  runsDir,
  WORKER_TIMING_HELP,
  workerTiming,
  workerTimingOptions,
  type Common,
} from '../context.js';
import { driveRun } from '../drive-run.js';
import { stopHelp, stopMs, stopOptions } from '../stop.js';

/** A recipe file to start a run from, or a run (id, id prefix, directory) to continue. */
export function runTarget(arg: string, v: Common): { recipeFile: string } | { store: RunStore } {
  if (existsSync(arg) && statSync(arg).isFile()) return { recipeFile: arg };
  if (RunStore.isRunDir(arg) || !/\.ya?ml$/i.test(arg)) return { store: findRun(v, arg) };
  return { recipeFile: arg }; // a recipe path that does not exist: loading it says so (exit 3)
}

export const command: Command = {
  name: 'run',
  summary: 'Run a recipe (or continue a run) here and wait for it, with an in-process worker when none is connected',
  help: `Usage: ipa run RECIPE [--id ID] [--no-local-worker] [--lock-ms MS] [--stalled-ms MS] [--stop-ms MS] [--allow-eviction] [--log-format human|json] [--json]
       ipa run RUN        (a run id, id prefix or run directory: continue it)

Without REDIS_URL/--redis-url a private redis-server is started on a free loopback port for the
command's duration. When no worker is connected, an in-process worker serves every queue, so one
command runs the whole recipe; --lock-ms and --stalled-ms set its BullMQ options. A given Redis
that may evict keys is refused unless --allow-eviction (BullMQ would lose jobs). Prints a line
per finished job and problem as it happens (with a live progress line, elapsed time and an
estimate per stage on a terminal), then the results table and the report's path.

Ctrl-C (or SIGTERM) stops in order, within --stop-ms: the run becomes "interrupted", running
jobs go back to the queue, the private Redis stops, and the command that continues it is
printed; a second Ctrl-C exits at once (the run stays resumable either way).

\`ipa run RUN\` continues a run, under the queue prefix it was submitted with: only jobs without
a done record are computed, damaged outputs (\`ipa verify\`) included. It is the command to use
without a Redis of your own; \`ipa resume RUN\` re-queues a run on a Redis for \`ipa worker\`s.
Exit code 0 when the run completed, 1 when it failed, 6 when cancelled, 130 when interrupted.
Examples:
  ipa run recipes/tiny.yaml
  ipa run tiny-20261126              # continue an interrupted run
  REDIS_URL=redis://127.0.0.1:6379 ipa run recipes/tiny.yaml --no-local-worker

${LOG_HELP}

${WORKER_TIMING_HELP}

${stopHelp('the run is marked interrupted, running jobs are handed back, the private Redis stops')}

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      id: { type: 'string' },
      'no-local-worker': { type: 'boolean', default: false },
      'allow-eviction': { type: 'boolean', default: false },
      ...workerTimingOptions,
      ...logOptions,
      ...stopOptions,
    });
    if (!positionals[0]) throw new CliError('missing RECIPE (or a run to continue)', ExitCode.usage);
    if (positionals.length > 1)
      throw new CliError(`expected one RECIPE or RUN, got ${positionals.length}`, ExitCode.usage);
    const allowEviction = values['allow-eviction'];
    const worker = { ...workerTiming(values), allowEviction };
    const format = logFormat(values);
    const target = runTarget(positionals[0], values);
    if ('store' in target && values.id)
      throw new CliError('--id names a new run; it does not go with a run to continue', ExitCode.usage);
    let start: Parameters<typeof driveRun>[0]['start'];
    if ('store' in target) start = target;
    else {
      const { recipe, warnings } = loadRecipe(target.recipeFile);
      for (const w of warnings) rootLogger.warn(formatIssue(w));
      start = { recipe, recipeFile: target.recipeFile, id: values.id, runsDir: values['runs-dir'], allowEviction };
    }
    return driveRun({
      start,
      redisUrl: redisUrl(values),
      prefix: 'store' in start ? runPrefix(values, start.store) : prefix(values),
      worker,
      localWorker: !values['no-local-worker'],
      logFormat: format,
      json: !!values.json,
      runsDir: runsDir(values),
      stopMs: stopMs(values),
    });
  },
};
