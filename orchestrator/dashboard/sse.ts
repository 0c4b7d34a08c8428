/**
 * Server-sent events: each connected page gets `runs`, `snapshot` (of the run it watches, `?run=`)
 * and `workers` events whenever they change. Run directories are polled (they are written by
 * workers on other hosts, so no in-process notification exists), but once per interval for
 * everyone: one poll of the run list, one per watched run shared by all its pages, one of the
 * workers registry; each builds what it sends once (RunCache) and fans the same text out.
 * Connections are capped: past `maxClients` a page is told so (503) and falls back to polling.
 * A burst of new pages shares one build of what they are greeted with (RunCache's single flight,
 * and one read of the workers registry), and each stream holds at most `maxBufferBytes` of unsent
 * text: a page that reads slower than that is closed (it reconnects and polls meanwhile), so
 * memory per stream stays bounded.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { WorkerInfo } from '../agent/registry.js';
import type { RunCache } from './run-cache.js';
import { SingleFlight } from './single-flight.js';

export interface EventHubOptions {
  cache: RunCache;
  workers: () => Promise<WorkerInfo[]>;
  /** @defaultValue 1000 ms */
  pollMs?: number;
  /** Open event streams at most; more are refused with 503 and a reason. @defaultValue DEFAULT_MAX_SSE_CLIENTS */
  maxClients?: number;
  /** Unsent bytes one stream may hold before it is closed. @defaultValue DEFAULT_MAX_BUFFER_BYTES */
  maxBufferBytes?: number;
}

/** Enough for a team's browsers; each stream holds a socket and gets every change. */
export const DEFAULT_MAX_SSE_CLIENTS = 100;
/** Several snapshots of a large run: a page that falls further behind is closed and reconnects. */
export const DEFAULT_MAX_BUFFER_BYTES = 8 * 1024 * 1024;
/** Comment lines keep idle connections open through proxies. */
const HEARTBEAT_MS = 15_000;

interface Client {
  res: Response;
  run?: string;
}

/** The last text sent on one topic, so only changes go out. */
interface Topic {
  last?: string;
  busy: boolean;
}

export class EventHub {
  private readonly clients = new Set<Client>();
  private readonly runs: Topic = { busy: false };
  private readonly workersTopic: Topic = { busy: false };
  /** Watched runs (by the reference pages gave) and their topics. */
  private readonly watched = new Map<string, Topic>();
  private readonly pollMs: number;
  readonly maxClients: number;
  private readonly maxBufferBytes: number;
  /** Greetings of pages that arrive together share one build of each part. */
  private readonly greetings = new SingleFlight();
  /** Streams closed because their reader fell too far behind. */
  dropped = 0;
  private timer?: NodeJS.Timeout;
  private beat?: NodeJS.Timeout;

  constructor(private readonly opts: EventHubOptions) {
    this.pollMs = opts.pollMs ?? 1000;
    this.maxClients = opts.maxClients ?? DEFAULT_MAX_SSE_CLIENTS;
    this.maxBufferBytes = opts.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  }

  get connections(): number {
    return this.clients.size;
  }

  readonly handler: RequestHandler = (req: Request, res: Response) => {
    if (this.clients.size >= this.maxClients) {
      res
        .status(503)
        .set({ 'Retry-After': '30', 'Cache-Control': 'no-store' })
        .json({
          error: `the dashboard already serves ${this.maxClients} live pages (ipa dashboard --max-sse-clients); this page refreshes by polling instead`,
        });
      return;
    }
    const run = typeof req.query.run === 'string' ? req.query.run : undefined;
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    // Tells EventSource how soon to reconnect after a drop (the page also polls meanwhile).
    res.write('retry: 2000\n\n');
    const client: Client = { res, run };
    this.clients.add(client);
    if (run && !this.watched.has(run)) this.watched.set(run, { busy: false });
    req.on('close', () => this.drop(client));
    this.start();
    // A new page gets the current state at once, not at the next change.
    void this.greet(client);
  };

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.pollMs);
    this.beat = setInterval(() => this.broadcast(': ping\n\n', () => true), HEARTBEAT_MS);
  }

  private drop(client: Client): void {
    if (!this.clients.delete(client)) return;
    client.res.end();
    if (client.run && ![...this.clients].some((c) => c.run === client.run)) this.watched.delete(client.run);
    if (this.clients.size === 0) {
      clearInterval(this.timer);
      clearInterval(this.beat);
      this.timer = this.beat = undefined;
    }
  }

  /** Writes to one stream, or closes it when its unsent text would pass `maxBufferBytes`. */
  private send(c: Client, text: string): void {
    if (!this.clients.has(c)) return;
    if (c.res.writableLength + Buffer.byteLength(text) > this.maxBufferBytes) {
      this.dropped++;
      this.drop(c);
      return;
    }
    c.res.write(text);
  }

  private broadcast(text: string, to: (c: Client) => boolean): void {
    for (const c of [...this.clients]) if (to(c)) this.send(c, text);
  }

  private static event(name: string, json: string): string {
    return `event: ${name}\ndata: ${json}\n\n`;
  }

  private async greet(client: Client): Promise<void> {
    try {
      const runs = await this.greetings.run('runs', async () =>
        EventHub.event('runs', JSON.stringify(await this.opts.cache.list())),
      );
      this.send(client, runs);
      if (client.run) {
        const run = client.run;
        const snap = await this.greetings.run(`snapshot:${run}`, async () => {
          const s = await this.opts.cache.snapshotJson(run);
          return s ? EventHub.event('snapshot', s.json) : EventHub.event('missing', JSON.stringify({ run }));
        });
        this.send(client, snap);
      }
      this.send(
        client,
        await this.greetings.run('workers', async () =>
          EventHub.event('workers', JSON.stringify(await this.opts.workers())),
        ),
      );
    } catch (err) {
      this.send(
        client,
        EventHub.event('problem', JSON.stringify({ message: err instanceof Error ? err.message : String(err) })),
      );
    }
  }

  /** One poll for everyone: the run list, each watched run, the workers. */
  private async tick(): Promise<void> {
    await Promise.all([
      this.refresh(
        this.runs,
        async () => EventHub.event('runs', JSON.stringify(await this.opts.cache.list())),
        () => true,
      ),
      ...[...this.watched].map(([ref, topic]) =>
        this.refresh(
          topic,
          async () => {
            const snap = await this.opts.cache.snapshotJson(ref);
            return snap
              ? EventHub.event('snapshot', snap.json)
              : EventHub.event('missing', JSON.stringify({ run: ref }));
          },
          (c) => c.run === ref,
        ),
      ),
      this.refresh(
        this.workersTopic,
        async () => EventHub.event('workers', JSON.stringify(await this.opts.workers())),
        () => true,
      ),
    ]);
  }

  /** Builds a topic's text (skipped while the last build runs) and sends it to `to` when it changed. */
  private async refresh(topic: Topic, build: () => Promise<string>, to: (c: Client) => boolean): Promise<void> {
    if (topic.busy) return;
    topic.busy = true;
    try {
      const text = await build();
      if (text !== topic.last) {
        topic.last = text;
        this.broadcast(text, to);
      }
    } catch (err) {
      // A file caught mid-write or a Redis hiccup: report it and try again on the next tick.
      this.broadcast(
        EventHub.event('problem', JSON.stringify({ message: err instanceof Error ? err.message : String(err) })),
        to,
      );
    } finally {
      topic.busy = false;
    }
  }

  /** Ends every open stream (server shutdown). */
  close(): void {
    for (const c of [...this.clients]) this.drop(c);
  }
}
