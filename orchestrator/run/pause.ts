/**
 * `ipa pause`: only a queued or running run can pause. Its running jobs finish; an agent that
 * takes one of its jobs puts it back (delayed) until `resumeRun` sets the state to running.
 */
import { IpaError } from '../errors.js';
import type { RunStore } from '../store/run-store.js';

export function pauseRun(store: RunStore): void {
  const s = store.info().state;
  if (s === 'interrupted')
    throw new IpaError(
      `run ${store.id} is interrupted: nothing is running it; continue it with \`ipa run ${store.id}\``,
    );
  if (s !== 'running' && s !== 'queued')
    throw new IpaError(`run ${store.id} is ${s}; only queued or running runs can be paused`);
  store.setState('paused');
}
