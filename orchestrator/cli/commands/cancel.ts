import { cancelRun } from '../../run/cancel.js';
import { ExitCode, type Command } from '../command.js';
import { closeQueues, COMMON_HELP, findRun, openQueues, parse } from '../context.js';

export const command: Command = {
  name: 'cancel',
  summary: 'Cancel a run: waiting jobs are removed, running ones stopped (SIGTERM to Python)',
  help: `Usage: ipa cancel RUN\n\nPartial outputs of stopped jobs are discarded (only done records count).\n\n${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const store = findRun(values, positionals[0]);
    const queues = openQueues(values);
    let removed: number;
    try {
      ({ removed } = await cancelRun(store, queues));
    } finally {
      await queues.then(closeQueues, () => undefined);
    }
    console.log(
      values.json
        ? JSON.stringify({ id: store.id, state: 'cancelled', removed })
        : `cancelled ${store.id} (${removed} queued jobs removed)`,
    );
    return ExitCode.ok;
  },
};
