/**
 * bull-board on every stage queue: counts, jobs, logs, retry and flows. It shares the
 * dashboard's Redis connection and prefix, so it sees the same jobs the agents take.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { QueueSet } from '../queue/queues.js';

export const BOARD_PATH = '/queues';

/**
 * bull-board's page links web fonts from a CDN; this policy keeps the browser from fetching
 * anything off this server (the fonts fall back to local ones).
 */
const BOARD_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

export function queueBoard(queues: QueueSet): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.all().map((q) => new BullMQAdapter(q, { allowRetries: true })),
    // @bull-board/express pins its own copy of @bull-board/api (9.10.1 beside our 9.10.2): the
    // classes are the same at runtime, but TypeScript sees two declarations of BaseAdapter.
    serverAdapter: adapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'ipa queues', hideDocsLink: true, miscLinks: [{ text: 'Runs dashboard', url: '/' }] } },
  });
  const r = Router();
  r.use((_req: Request, res: Response, next: NextFunction) => {
    res.set('Content-Security-Policy', BOARD_CSP);
    next();
  });
  r.use(adapter.getRouter() as Router);
  return r;
}
