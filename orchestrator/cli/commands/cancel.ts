import { keys, QUEUE_NAMES_FOR_CANCEL } from '../../queue/queues.js';
import { ExitCode, type Command } from '../command.js';
import { closeQueues, COMMON_HELP, findRun, openQueues, parse } from '../context.js';

export const command: Command = {
  name: 'cancel',
  summary: 'Cancel a run: waiting jobs are removed, running ones stopped (SIGTERM to Python)',
  help: `Usage: ipa cancel RUN\n\nPartial outputs of stopped jobs are discarded (only done records count).\n\n${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const store = findRun(values, positionals[0]);
    store.setState('cancelled', { force: true });
    const queues = await openQueues(values);
    let removed = 0;
    try {
      await queues.connection.publish(keys.control(queues.prefix), JSON.stringify({ action: 'cancel', runId: store.id }));
      for (const q of QUEUE_NAMES_FOR_CANCEL.map((k) => queues.queue(k))) {
        const jobs = await q.getJobs(['waiting', 'delayed', 'prioritized', 'waiting-children']);
        for (const j of jobs) {
          if (j?.data?.runId === store.id) {
            await j.remove({ removeChildren: true }).catch(() => undefined);
            removed++;
          }
        }
      }
    } finally {
      await closeQueues(queues);
    }
    console.log(values.json ? JSON.stringify({ id: store.id, state: 'cancelled', removed }) : `cancelled ${store.id} (${removed} queued jobs removed)`);
    return ExitCode.ok;
  },
};
