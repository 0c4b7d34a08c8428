/**
 * Snapshots and list entries, cached by file change: each is built once per change of its run's
 * fingerprint (or after `maxAgeMs`, since an output can vanish without a stat the fingerprint
 * sees), however many requests and live pages ask for it. Building reads the run directory
 * synchronously, so doing it once per change, not once per client, is what keeps the server
 * responsive with many pages open. Callers that ask at the same moment share one flight: a burst
 * of new pages (or requests) that all miss the cache waits for one build, not one build each.
 */
import { join } from 'node:path';
import { listEntry, findRunIn, runSnapshot, type RunListEntry } from './snapshot.js';
import { runFingerprint, runFolders } from './fingerprint.js';
import { SingleFlight } from './single-flight.js';

interface Cached {
  fingerprint: string;
  builtAt: number;
  value: string;
}

export class RunCache {
  private readonly snapshots = new Map<string, Cached>();
  private readonly entries = new Map<string, { fingerprint: string; builtAt: number; entry: RunListEntry }>();
  /** Snapshots and list entries built so far (each a synchronous read of a run directory). */
  builds = 0;
  /** Builds in progress: a caller arriving meanwhile gets the same promise. */
  private readonly flights = new SingleFlight();

  /** @param maxAgeMs - rebuild at least this often even without a file change @defaultValue 10000 */
  constructor(
    private readonly runsDir: string,
    private readonly maxAgeMs = 10_000,
  ) {}

  /** The run's snapshot as JSON text, or undefined when no run matches `ref` (id or unique prefix). */
  snapshotJson(ref: string): Promise<{ id: string; json: string } | undefined> {
    return this.flights.run(`snapshot:${ref}`, () => this.buildSnapshot(ref));
  }

  private async buildSnapshot(ref: string): Promise<{ id: string; json: string } | undefined> {
    const store = findRunIn(this.runsDir, ref);
    if (!store) return undefined;
    const fp = await runFingerprint(store.dir);
    const hit = this.snapshots.get(store.id);
    if (hit && hit.fingerprint === fp && Date.now() - hit.builtAt < this.maxAgeMs)
      return { id: store.id, json: hit.value };
    this.builds++;
    const json = JSON.stringify(runSnapshot(store));
    this.snapshots.set(store.id, { fingerprint: fp, builtAt: Date.now(), value: json });
    return { id: store.id, json };
  }

  /** Every run, newest first, damaged ones with their reason. */
  list(): Promise<RunListEntry[]> {
    return this.flights.run('list', () => this.buildList());
  }

  private async buildList(): Promise<RunListEntry[]> {
    const ids = await runFolders(this.runsDir);
    const entries = await Promise.all(
      ids.map(async (id) => {
        const fp = await runFingerprint(join(this.runsDir, id));
        const hit = this.entries.get(id);
        if (hit && hit.fingerprint === fp && Date.now() - hit.builtAt < this.maxAgeMs) return hit.entry;
        this.builds++;
        const entry = listEntry(this.runsDir, id);
        this.entries.set(id, { fingerprint: fp, builtAt: Date.now(), entry });
        return entry;
      }),
    );
    for (const id of this.entries.keys()) if (!ids.includes(id)) this.entries.delete(id);
    return entries.sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? '') || a.id.localeCompare(b.id));
  }
}
