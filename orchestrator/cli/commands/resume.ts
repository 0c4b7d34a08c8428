import { resumeRun } from '../../run/resume.js';
import { ExitCode, type Command } from '../command.js';
import { closeQueues, COMMON_HELP, findRun, openQueues, parse } from '../context.js';

export const command: Command = {
  name: 'resume',
  summary: 'Rebuild a run\'s queue from its run directory (after a crash, a Redis wipe, or pause)',
  help: `Usage: ipa resume RUN

Finished jobs (done records in runs/<id>/jobs/) are kept; the current round's missing jobs are
queued again; half-written outputs are ignored. Works after FLUSHALL. Un-pauses a paused run.
Examples:
  ipa resume tiny-20261126
  ipa resume runs/tiny-20261126-101500-ab12 --redis-url redis://127.0.0.1:6380

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const store = findRun(values, positionals[0]);
    const queues = await openQueues(values);
    try {
      const r = await resumeRun(store, queues);
      if (values.json) console.log(JSON.stringify({ id: store.id, ...r }));
      else if (r.completed) console.log(`${store.id} is complete: nothing to resume`);
      else if (r.alreadyQueued) console.log(`${store.id}: round ${r.round} is still queued; state set to running`);
      else console.log(`${store.id}: round ${r.round} re-queued (${r.enqueued} jobs), ${r.kept} finished jobs kept`);
      return ExitCode.ok;
    } finally {
      await closeQueues(queues);
    }
  },
};
