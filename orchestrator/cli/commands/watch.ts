import { waitForRun } from '../../run/wait.js';
import { liveJobProgress } from '../../store/job-progress.js';
import type { RunState } from '../../store/run-store.js';
import { CliError, ExitCode, type Command } from '../command.js';
import { COMMON_HELP, findRun, parse, runsDir } from '../context.js';
import { continueCommand } from '../continue-command.js';
import { statusBody, statusHeader } from '../render.js';
import { RedrawnBlock } from '../terminal.js';

/** The exit code of a watch that saw the run end in `state`. */
export function watchExitCode(state: RunState): number {
  if (state === 'completed') return ExitCode.ok;
  if (state === 'cancelled') return ExitCode.cancelled;
  if (state === 'interrupted') return ExitCode.interrupted;
  return ExitCode.failed;
}

export const command: Command = {
  name: 'watch',
  summary: 'Live status of a run until it ends, redrawn in place (Ctrl-C to stop watching)',
  help: `Usage: ipa watch RUN [--interval MS] [--json]

On a terminal the status block (as \`ipa status\` shows it, with the time elapsed and each
running job's step, loss and estimate) is redrawn in place every --interval; elsewhere it is
printed again only when the run changes. Ends when the run completes, fails, is cancelled or
interrupted (exit code 0, 1, 6 or 130).
--json prints one manifest per line when it changes, with \`running\` as in \`ipa status --json\`.

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { interval: { type: 'string', default: '1000' } });
    const interval = Number(values.interval);
    if (!Number.isInteger(interval) || interval < 100)
      throw new CliError('--interval must be an integer >= 100 (milliseconds)', ExitCode.usage);
    const store = findRun(values, positionals[0]);
    const live = !values.json && !!process.stdout.isTTY && process.env.TERM !== 'dumb';
    const block = new RedrawnBlock(process.stdout);
    let last = '';
    const state = await waitForRun(store, {
      pollMs: interval,
      onPoll: (m) => {
        const now = Date.now();
        const running = liveJobProgress(store, now);
        if (values.json) {
          const text = JSON.stringify({ ...m, running });
          if (text !== last) console.log(text);
          last = text;
          return;
        }
        const body = statusBody(m, {
          dir: store.dir,
          now,
          continueWith: continueCommand(store, runsDir(values)),
          running,
        });
        if (live) return block.draw([statusHeader(m, now), ...body]);
        // Without a terminal a block is printed only when the run changed (a job finished, a
        // running one reported a step or a new phase), not every second as its clocks move.
        const key = JSON.stringify([
          m.run.state,
          m.totals,
          m.rounds,
          running.map((j) => [j.job_id, j.phase, j.done, j.total]),
        ]);
        if (key !== last) console.log([statusHeader(m, now), ...body].join('\n'));
        last = key;
      },
    });
    return watchExitCode(state);
  },
};
