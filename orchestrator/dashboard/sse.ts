/**
 * Server-sent events: each connected page gets `runs`, `snapshot` (of the run it watches, `?run=`)
 * and `workers` events whenever they change. Runs are polled from the run directory (the truth,
 * written by workers on other hosts, so no in-process notification exists); a cheap stat
 * fingerprint gates the full rebuild.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { WorkerInfo } from '../agent/registry.js';
import { findRunIn, listRuns, runFingerprint, runSnapshot, runsFingerprint } from './snapshot.js';

export interface EventHubOptions {
  runsDir: string;
  workers: () => Promise<WorkerInfo[]>;
  /** @defaultValue 1000 ms */
  pollMs?: number;
}

/** Rebuild a snapshot at least this often even without a file change: outputs can vanish unnoticed by stat. */
const REBUILD_EVERY_MS = 10_000;
/** Comment lines keep idle connections open through proxies. */
const HEARTBEAT_MS = 15_000;

export class EventHub {
  private readonly streams = new Set<() => void>();
  private readonly pollMs: number;

  constructor(private readonly opts: EventHubOptions) {
    this.pollMs = opts.pollMs ?? 1000;
  }

  get connections(): number {
    return this.streams.size;
  }

  readonly handler: RequestHandler = (req: Request, res: Response) => {
    const runId = typeof req.query.run === 'string' ? req.query.run : undefined;
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    // Tells EventSource how soon to reconnect after a drop (the page also polls meanwhile).
    res.write('retry: 2000\n\n');

    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const last = { runsFp: '', runFp: '', builtAt: 0, snapshot: '', workers: '' };
    let busy = false;
    let closed = false;

    const tick = async () => {
      if (busy || closed) return;
      busy = true;
      try {
        const rf = runsFingerprint(this.opts.runsDir);
        if (rf !== last.runsFp) {
          last.runsFp = rf;
          send('runs', listRuns(this.opts.runsDir));
        }
        if (runId) {
          const store = findRunIn(this.opts.runsDir, runId);
          if (!store) {
            if (last.snapshot !== 'missing') send('missing', { run: runId });
            last.snapshot = 'missing';
          } else {
            const fp = runFingerprint(store);
            if (fp !== last.runFp || Date.now() - last.builtAt >= REBUILD_EVERY_MS) {
              last.runFp = fp;
              last.builtAt = Date.now();
              const snap = runSnapshot(store);
              const json = JSON.stringify(snap);
              if (json !== last.snapshot) {
                last.snapshot = json;
                res.write(`event: snapshot\ndata: ${json}\n\n`);
              }
            }
          }
        }
        const ws = JSON.stringify(await this.opts.workers());
        if (!closed && ws !== last.workers) {
          last.workers = ws;
          res.write(`event: workers\ndata: ${ws}\n\n`);
        }
      } catch (err) {
        // A file caught mid-write or a Redis hiccup: report it and try again on the next tick.
        if (!closed) send('problem', { message: err instanceof Error ? err.message : String(err) });
      } finally {
        busy = false;
      }
    };

    const poll = setInterval(() => void tick(), this.pollMs);
    const beat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    const stop = () => {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      clearInterval(beat);
      this.streams.delete(stop);
      res.end();
    };
    this.streams.add(stop);
    req.on('close', stop);
    void tick();
  };

  /** Ends every open stream (server shutdown). */
  close(): void {
    for (const stop of [...this.streams]) stop();
  }
}
