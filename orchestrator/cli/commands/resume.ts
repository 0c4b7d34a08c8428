import { resumeRun } from '../../run/resume.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { closeQueues, COMMON_HELP, findRun, LOG_HELP, logFormat, logOptions, openQueues, parse, prefix, redisUrl, runsDir } from '../context.js';
import { repairLines } from '../damage-report.js';
import { driveRun } from '../drive-run.js';

/** What to do when `ipa resume` has no Redis and the run was not interrupted here: the exact alternatives. */
export function noRedisAdvice(id: string, state: string): string {
  return [
    `no Redis configured, so run ${id} (${state}) cannot be re-queued. Either:`,
    `  ipa run ${id}                                    continue it here: a private Redis and an in-process worker`,
    `  ipa resume ${id} --redis-url redis://HOST:6379   re-queue it on your Redis (or set REDIS_URL), then start`,
    `  ipa worker --redis-url redis://HOST:6379         workers there (one per GPU)`,
  ].join('\n');
}

export const command: Command = {
  name: 'resume',
  summary: 'Rebuild a run\'s queue from its run directory (after a crash, a Redis wipe, pause or Ctrl-C)',
  help: `Usage: ipa resume RUN [--redis-url URL]

Finished jobs (done records in runs/<id>/jobs/) are kept; the current round's missing jobs are
queued again; half-written outputs are ignored. Works after FLUSHALL. Un-pauses a paused run.
Workers then run it (\`ipa worker\`).

Outputs are checked first (as \`ipa verify\` does): a damaged one is not trusted, so its job and
every job computed from it run again; their records (and stray shard files) move to
runs/<id>/quarantine/<time>/, nothing is deleted. A damaged run.json or recipe.json: exit 3.

Without a Redis (no --redis-url, no REDIS_URL): an interrupted run is continued here as
\`ipa run RUN\` does (private Redis, in-process worker, waits for the end); for any other run the
command prints the alternatives and exits 4.

Examples:
  ipa resume tiny-20261126
  ipa resume runs/tiny-20261126-101500-ab12 --redis-url redis://127.0.0.1:6380

${LOG_HELP}

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...logOptions });
    const format = logFormat(values);
    const store = findRun(values, positionals[0]);
    // A damaged run.json or recipe.json ends here with exit 3, before Redis is needed.
    const state = store.info().state;
    store.recipe();
    if (!redisUrl(values)) {
      if (state !== 'interrupted') throw new CliError(noRedisAdvice(store.id, state), ExitCode.redisUnavailable);
      return driveRun({ start: { store }, prefix: prefix(values), worker: {}, localWorker: true, logFormat: format, json: !!values.json, runsDir: runsDir(values) });
    }
    const queues = await openQueues(values);
    try {
      const r = await resumeRun(store, queues);
      if (values.json) {
        console.log(JSON.stringify({ id: store.id, ...r }));
        return ExitCode.ok;
      }
      if (r.repair.damage.length) console.log(repairLines(store.id, r.repair).join('\n'));
      if (r.completed) console.log(`${store.id} is complete: nothing to resume`);
      else if (r.alreadyQueued) console.log(`${store.id}: round ${r.round} is still queued; state set to running`);
      else console.log(`${store.id}: round ${r.round} re-queued (${r.enqueued} jobs), ${r.kept} finished jobs kept; workers run it (ipa worker)`);
      return ExitCode.ok;
    } finally {
      await closeQueues(queues);
    }
  },
};
