/**
 * The dashboard server: one express app serving the runs page and its JSON/SSE API (read from
 * run directories) and bull-board for the queues (read from Redis), behind one auth check.
 * Without a Redis (a finished run whose private Redis is gone) the run pages work the same from
 * the run folders; the workers panel and /queues say the queue is not connected.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { listWorkers } from '../agent/registry.js';
import { Deadline, DEFAULT_STOP_MS } from '../deadline.js';
import { closeConnection, connect } from '../queue/connection.js';
import { QueueSet } from '../queue/queues.js';
import { authMiddleware, checkBinding } from './auth.js';
import { BOARD_PATH, queueBoard } from './board.js';
import { dashboardRoutes, type QueueState } from './routes.js';
import { RunCache } from './run-cache.js';
import { EventHub } from './sse.js';

export interface DashboardOptions {
  /** The queue's Redis; absent: run folders only (no workers, no queue board). */
  redisUrl?: string;
  /** Why there is no Redis, shown on the page (e.g. "cannot reach Redis at …"). */
  noQueueReason?: string;
  prefix: string;
  runsDir: string;
  /** @defaultValue '127.0.0.1'; anything beyond loopback requires `token` */
  host?: string;
  /** @defaultValue 0 (any free port) */
  port?: number;
  /** Required on every request when set, even on loopback. */
  token?: string;
  /** How often SSE streams look at the run directory; @defaultValue 1000 ms */
  pollMs?: number;
  /** Live pages (event streams) at once; more are refused politely. @defaultValue DEFAULT_MAX_SSE_CLIENTS (100) */
  maxSseClients?: number;
  /** bull-board admin actions (retry, add, edit, remove, obliterate); needs `token`. @defaultValue false */
  queueAdmin?: boolean;
}

export interface Dashboard {
  /** Where to open it (host as bound; 0.0.0.0 / :: shown as loopback, which also reaches it). */
  url: string;
  port: number;
  /** Open event streams, and run snapshots or list entries built so far (for tests and the bench). */
  stats(): { sseClients: number; builds: number };
  /** Ends open pages and connections within `stopMs`, whether or not Redis answers. */
  close(stopMs?: number): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the server; rejects (`DashboardConfigError`) before binding when the host needs a token. */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  checkBinding(host, opts.token, opts.queueAdmin);

  const conn = opts.redisUrl ? connect(opts.redisUrl) : undefined;
  conn?.on('error', () => undefined); // shown per request (workers route, bull-board), not fatal to the server
  const queues = conn ? new QueueSet(conn, opts.prefix) : undefined;
  const queue: QueueState = conn
    ? { connected: true }
    : { connected: false, reason: opts.noQueueReason ?? 'no Redis configured' };
  // Without a queue there are no workers to list: an empty list, and the page says why (`queue`).
  const workers = conn ? () => listWorkers(conn, opts.prefix) : async () => [];
  const cache = new RunCache(opts.runsDir);
  const events = new EventHub({ cache, workers, pollMs: opts.pollMs, maxClients: opts.maxSseClients });

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(authMiddleware({ token: opts.token }));
  if (queues) app.use(BOARD_PATH, queueBoard(queues, { admin: opts.queueAdmin }));
  else {
    const why = `the queue is not connected (${queue.connected ? '' : queue.reason}): start ipa dashboard with a reachable Redis (REDIS_URL or --redis-url) to see the queues`;
    app.use(BOARD_PATH, (_req, res) => void res.status(503).type('text/plain').send(why));
  }
  app.use(dashboardRoutes({ workers, events, cache, queue }));

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${port}/`,
    port,
    stats: () => ({ sseClients: events.connections, builds: cache.builds }),
    close(stopMs = DEFAULT_STOP_MS) {
      closing ??= (async () => {
        const stop = Deadline.in(stopMs);
        events.close();
        await stop.settle(
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
        );
        // A page's request may still wait on Redis (workers, the queue board): it is given up with the connection.
        await queues?.close(stop);
        if (conn) await closeConnection(conn, stop);
      })();
      return closing;
    },
  };
}
