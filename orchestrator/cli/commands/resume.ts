import { resumeRun } from '../../run/resume.js';
import { ExitCode, type Command } from '../command.js';
import { closeQueues, COMMON_HELP, findRun, openQueues, parse } from '../context.js';
import { damageSummary } from '../damage-report.js';
import type { RepairResult } from '../../run/repair.js';

export const command: Command = {
  name: 'resume',
  summary: 'Rebuild a run\'s queue from its run directory (after a crash, a Redis wipe, or pause)',
  help: `Usage: ipa resume RUN

Finished jobs (done records in runs/<id>/jobs/) are kept; the current round's missing jobs are
queued again; half-written outputs are ignored. Works after FLUSHALL. Un-pauses a paused run.
Outputs are checked first (as \`ipa verify\` does): a damaged one is not trusted, so its job and
every job computed from it run again; their records (and stray shard files) move to
runs/<id>/quarantine/<time>/, nothing is deleted. A damaged run.json or recipe.json: exit 3.
Examples:
  ipa resume tiny-20261126
  ipa resume runs/tiny-20261126-101500-ab12 --redis-url redis://127.0.0.1:6380

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    const store = findRun(values, positionals[0]);
    // A damaged run.json or recipe.json ends here with exit 3, before Redis is needed.
    store.info();
    store.recipe();
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
      else console.log(`${store.id}: round ${r.round} re-queued (${r.enqueued} jobs), ${r.kept} finished jobs kept`);
      return ExitCode.ok;
    } finally {
      await closeQueues(queues);
    }
  },
};

/** What resume found and set aside, in a few lines. */
function repairLines(id: string, r: RepairResult): string[] {
  const lines = [`${id}: found ${damageSummary(r.damage)}`];
  if (r.damaged.length) lines.push(`  computing again: ${r.damaged.length} damaged job${r.damaged.length === 1 ? '' : 's'} (${r.damaged.map((j) => j.slice(id.length + 1)).join(', ')})`);
  if (r.dependents.length) lines.push(`  and ${r.dependents.length} computed from them (${r.dependents.map((j) => j.slice(id.length + 1)).join(', ')})`);
  if (r.quarantine) lines.push(`  their records and stray files moved to ${r.quarantine}/`);
  return lines;
}
