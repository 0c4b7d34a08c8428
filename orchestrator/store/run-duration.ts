/**
 * How long a run took: one definition for `ipa run`, `ipa status`, `ipa watch` and the dashboard.
 * A run's time runs from its creation (`ipa submit`/`ipa run`) to the moment it ended (the last
 * change of run.json's state to an ended state: completed, failed, cancelled, interrupted), or to
 * now while it has not ended. A run interrupted and continued later counts the pause too: it is
 * the time from first start to end, not the time of one command.
 */
import { ENDED_STATES, type RunInfo } from './run-store.js';

type Times = Pick<RunInfo, 'state' | 'created_at' | 'updated_at'>;

/** Where a run's time starts and ends (ISO); `to` is null while the run goes on. */
export function runSpan(info: Times): { from: string; to: string | null } {
  return { from: info.created_at, to: ENDED_STATES.has(info.state) ? info.updated_at : null };
}

/** Milliseconds from `runSpan`'s start to its end, or to `now` while the run goes on. */
export function runDurationMs(info: Times, now = Date.now()): number {
  const { from, to } = runSpan(info);
  return Math.max(0, (to === null ? now : Date.parse(to)) - Date.parse(from));
}
