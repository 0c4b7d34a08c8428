import { existsSync } from 'node:fs';
import { loadRecipe } from '../../recipe/load.js';
import { resultsTable, roundResults } from '../../report/results.js';
import { LocalSession } from '../../run/local-session.js';
import { submitRun } from '../../run/submit.js';
import { waitForRun } from '../../run/wait.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { COMMON_HELP, parse, prefix, redisUrl, WORKER_TIMING_HELP, workerTiming, workerTimingOptions } from '../context.js';

export const command: Command = {
  name: 'run',
  summary: 'Submit a recipe and wait for it, with an in-process worker when none is connected',
  help: `Usage: ipa run RECIPE [--id ID] [--no-local-worker] [--lock-ms MS] [--stalled-ms MS] [--allow-eviction] [--json]

Without REDIS_URL/--redis-url a private redis-server is started on a free loopback port for the
run's duration. When no worker is connected, an in-process worker serves every queue, so one
command runs the whole recipe; --lock-ms and --stalled-ms set its BullMQ options. A given Redis
that may evict keys is refused unless --allow-eviction (BullMQ would lose jobs). Prints
progress, then the results table and the report's path.
Exit code 0 when the run completed, 1 when it failed, 6 when cancelled.
Examples:
  ipa run recipes/tiny.yaml
  REDIS_URL=redis://127.0.0.1:6379 ipa run recipes/tiny.yaml --no-local-worker

${WORKER_TIMING_HELP}

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { id: { type: 'string' }, 'no-local-worker': { type: 'boolean', default: false }, 'allow-eviction': { type: 'boolean', default: false }, ...workerTimingOptions });
    if (!positionals[0]) throw new CliError('missing RECIPE', ExitCode.usage);
    const worker = { ...workerTiming(values), allowEviction: values['allow-eviction'] };
    const { recipe } = loadRecipe(positionals[0]);
    const session = await LocalSession.open({ redisUrl: redisUrl(values), prefix: prefix(values), worker });
    if (session.privateRedis) console.error(`started a private redis-server on 127.0.0.1:${session.privateRedis.port}`);
    try {
      const store = await submitRun({ recipe, recipeFile: positionals[0], queues: session.queues, id: values.id, runsDir: values['runs-dir'], allowEviction: values['allow-eviction'] });
      console.error(`run ${store.id} → ${store.dir}`);
      if (!values['no-local-worker'] && !(await session.hasWorkers())) {
        console.error('no worker connected: starting an in-process worker for every queue');
        await session.startWorker();
      }
      const t0 = Date.now();
      // Ctrl-C / SIGTERM: stop the in-process worker and the private Redis before exiting; the run
      // directory keeps everything done so far (`ipa resume` continues it).
      const interrupted = new Promise<'interrupted'>((res) => {
        const stop = () => res('interrupted');
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      const state = await Promise.race([interrupted, waitForRun(store, {
        onChange: (m) => {
          const secs = ((Date.now() - t0) / 1000).toFixed(0);
          const cur = m.rounds.map((r) => `r${r.round}:${r.stages.reduce((a, s) => a + s.done, 0)}/${r.stages.reduce((a, s) => a + s.jobs, 0)}`).join(' ');
          console.error(`[${secs}s] ${m.run.state} ${m.totals.done}/${m.totals.jobs} jobs  ${cur}`);
        },
      })]);
      if (state === 'interrupted') {
        console.error(`interrupted: run ${store.id} stays in ${store.dir}; continue it with \`ipa resume ${store.id}\` and a worker`);
        return ExitCode.failed;
      }
      const results = roundResults(store);
      const out = { id: store.id, dir: store.dir, state, seconds: (Date.now() - t0) / 1000, results };
      if (values.json) console.log(JSON.stringify(out, null, 2));
      else {
        console.log(`\nrun ${store.id}: ${state} in ${out.seconds.toFixed(0)} s\n`);
        console.log(resultsTable(results));
        const report = store.abs('report.md');
        if (existsSync(report)) console.log(`\nreport: ${report}${existsSync(store.abs('accuracy.png')) ? `\nplot:   ${store.abs('accuracy.png')}` : ''}`);
        if (state === 'failed') console.log(`\nerror: ${store.info().error ?? 'see logs'} (ipa logs ${store.id})`);
      }
      return state === 'completed' ? ExitCode.ok : state === 'cancelled' ? ExitCode.cancelled : ExitCode.failed;
    } finally {
      await session.close();
    }
  },
};
