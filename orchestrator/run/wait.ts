/** Waits for a run to end (a final state, or interrupted), reporting progress whenever the manifest changes. */
import { buildManifest, type Manifest } from '../store/manifest.js';
import { ENDED_STATES, type RunState, type RunStore } from '../store/run-store.js';

export interface WaitOptions {
  /** @defaultValue 1000 */
  pollMs?: number;
  /** Called when the state or the count of done jobs changes (and once at the start). */
  onChange?: (m: Manifest) => void;
  /** Called with every manifest read, changed or not. */
  onPoll?: (m: Manifest) => void;
  /** Give up (reject) after this long. @defaultValue never */
  timeoutMs?: number;
}

export async function waitForRun(store: RunStore, opts: WaitOptions = {}): Promise<RunState> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const m = buildManifest(store);
    opts.onPoll?.(m);
    const sig = `${m.run.state}:${m.totals.done}/${m.totals.jobs}`;
    if (sig !== last) {
      last = sig;
      opts.onChange?.(m);
    }
    if (ENDED_STATES.has(m.run.state)) return m.run.state;
    if (opts.timeoutMs && Date.now() - started > opts.timeoutMs)
      throw new Error(`run ${store.id} did not finish within ${opts.timeoutMs} ms (state ${m.run.state}, ${sig})`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}
