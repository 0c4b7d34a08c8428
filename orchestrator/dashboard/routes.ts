/**
 * The dashboard's own HTTP surface: the page and its JSON API. Everything here is read-only;
 * actions on jobs go through bull-board under `/queues` (only with `--queue-admin`).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Request, type Response } from 'express';
import type { WorkerInfo } from '../agent/registry.js';
import type { RunCache } from './run-cache.js';
import type { EventHub } from './sse.js';

export const PAGE_FILE = join(dirname(fileURLToPath(import.meta.url)), 'page.html');

/** Whether the dashboard reads a queue (Redis) besides the run folders, and why not. */
export type QueueState = { connected: true } | { connected: false; reason: string };

export interface RouteDeps {
  workers: () => Promise<WorkerInfo[]>;
  queue: QueueState;
  events: EventHub;
  cache: RunCache;
}

/** Strict CSP: the page is self-contained, so nothing else may load or run. */
const PAGE_CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function fail(res: Response, err: unknown): void {
  res.status(500).json({ error: err instanceof Error ? err.message : String(err) });
}

export function dashboardRoutes(deps: RouteDeps): Router {
  const r = Router();
  // Read per request, so editing the page needs no restart (it is small).
  r.get('/', (_req: Request, res: Response) => {
    res
      .set({ 'Content-Security-Policy': PAGE_CSP, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
      .type('html')
      .send(readFileSync(PAGE_FILE, 'utf8'));
  });
  r.get('/api/runs', async (_req: Request, res: Response) => {
    try {
      res.set('Cache-Control', 'no-store').json(await deps.cache.list());
    } catch (err) {
      fail(res, err);
    }
  });
  r.get('/api/runs/:id', async (req: Request, res: Response) => {
    try {
      const snap = await deps.cache.snapshotJson(String(req.params.id));
      if (!snap) {
        res.status(404).json({ error: `no run '${req.params.id}' under the runs directory` });
        return;
      }
      res.set('Cache-Control', 'no-store').type('json').send(snap.json);
    } catch (err) {
      fail(res, err);
    }
  });
  r.get('/api/workers', async (_req: Request, res: Response) => {
    try {
      res.set('Cache-Control', 'no-store').json(await deps.workers());
    } catch (err) {
      res.status(503).json({ error: `workers unavailable: ${err instanceof Error ? err.message : String(err)}` });
    }
  });
  r.get('/api/queue', (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store').json(deps.queue);
  });
  r.get('/api/events', deps.events.handler);
  return r;
}
