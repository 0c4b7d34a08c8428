/** Waits for a run to reach a final state, reporting progress whenever the manifest changes. */
import { buildManifest, type Manifest } from '../store/manifest.js';
import { FINAL_STATES, type RunState, type RunStore } from '../store/run-store.js';

export async function waitForRun(store: RunStore, opts: { pollMs?: number; onChange?: (m: Manifest) => void; timeoutMs?: number } = {}): Promise<RunState> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const m = buildManifest(store);
    const sig = `${m.run.state}:${m.totals.done}/${m.totals.jobs}`;
    if (sig !== last) {
      last = sig;
      opts.onChange?.(m);
    }
    if (FINAL_STATES.has(m.run.state)) return m.run.state;
    if (opts.timeoutMs && Date.now() - started > opts.timeoutMs) throw new Error(`run ${store.id} did not finish within ${opts.timeoutMs} ms (state ${m.run.state}, ${sig})`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}
