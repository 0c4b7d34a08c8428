import { resumeRun } from '../../run/resume.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { closeQueues, COMMON_HELP, findRun, openQueues, parse, redisUrl, runPrefix, runsDir } from '../context.js';
import { continueCommand } from '../continue-command.js';
import { repairLines } from '../damage-report.js';

/**
 * What to do when `ipa resume` has no Redis: the exact alternatives. `ipa resume` only queues (it
 * returns at once, workers run the jobs); a queue in a private Redis would die with the command,
 * so continuing without a Redis of one's own is `ipa run`, which waits for the end.
 */
export function noRedisAdvice(id: string, state: string, here: string = `ipa run ${id}`): string {
  return [
    `no Redis configured, so run ${id} (${state}) cannot be re-queued. Either:`,
    `  ${here.padEnd(47)}  continue it here: a private Redis and an in-process worker compute only what is missing`,
    `  ipa resume ${id} --redis-url redis://HOST:6379   re-queue it on your Redis (or set REDIS_URL), then start`,
    `  ipa worker --redis-url redis://HOST:6379         workers there (one per GPU)`,
  ].join('\n');
}

export const command: Command = {
  name: 'resume',
  summary: 'Re-queue a run on a Redis from its run directory, for workers (after a crash, a Redis wipe, a pause)',
  help: `Usage: ipa resume RUN [--redis-url URL]

Finished jobs (done records in runs/<id>/jobs/) are kept; the current round's missing jobs are
queued again; half-written outputs are ignored. Works after FLUSHALL. Un-pauses a paused run.
Workers then run it (\`ipa worker\`).

Outputs are checked first (as \`ipa verify\` does): a damaged one is not trusted, so its job and
every job computed from it run again; their records (and stray shard files) move to
runs/<id>/quarantine/<time>/, nothing is deleted. A damaged run.json or recipe.json: exit 3.

It needs a Redis (--redis-url or REDIS_URL) that workers serve: it queues and returns. Without
one, continue the run here with \`ipa run RUN\` (a private Redis and an in-process worker compute
only what is missing, and it waits for the end); \`ipa resume\` then prints that command and
exits 4.

Examples:
  ipa resume tiny-20261126 --redis-url redis://127.0.0.1:6379
  REDIS_URL=redis://127.0.0.1:6380 ipa resume runs/tiny-20261126-101500-ab12

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const store = findRun(values, positionals[0]);
    // A damaged run.json or recipe.json ends here with exit 3, before Redis is needed.
    const state = store.info().state;
    store.recipe();
    if (!redisUrl(values))
      throw new CliError(
        noRedisAdvice(store.id, state, continueCommand(store, runsDir(values))),
        ExitCode.redisUnavailable,
      );
    const queues = await openQueues(values, runPrefix(values, store));
    try {
      const r = await resumeRun(store, queues);
      if (values.json) {
        console.log(JSON.stringify({ id: store.id, ...r }));
        return ExitCode.ok;
      }
      if (r.repair.damage.length) console.log(repairLines(store.id, r.repair).join('\n'));
      if (r.completed) console.log(`${store.id} is complete: nothing to resume`);
      else if (r.alreadyQueued) console.log(`${store.id}: round ${r.round} is still queued; state set to running`);
      else
        console.log(
          `${store.id}: round ${r.round} re-queued (${r.enqueued} jobs), ${r.kept} finished jobs kept; workers run it (ipa worker)`,
        );
      return ExitCode.ok;
    } finally {
      await closeQueues(queues);
    }
  },
};
