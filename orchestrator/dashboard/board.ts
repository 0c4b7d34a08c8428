/**
 * bull-board on every stage queue: counts, jobs, logs and flows. It shares the dashboard's Redis
 * connection and prefix, so it sees the same jobs the agents take.
 *
 * Read-only unless the operator turns admin actions on (`ipa dashboard --queue-admin`, which also
 * requires a token): bull-board can add jobs with any data and id, edit a job's data and
 * obliterate queues, so a writable board is a way to hand a worker arbitrary job data. The agent
 * trusts no job either (agent/job-trust.ts); this closes the door in front of it.
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
const BOARD_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

export interface BoardOptions {
  /** Allow retry, add, edit, remove, pause, clean and obliterate. @defaultValue false (read-only) */
  admin?: boolean;
}

/** Methods that only read. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function queueBoard(queues: QueueSet, opts: BoardOptions = {}): Router {
  const admin = opts.admin === true;
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.all().map((q) => new BullMQAdapter(q, { readOnlyMode: !admin, allowRetries: admin })),
    // @bull-board/express pins its own copy of @bull-board/api (9.10.1 beside our 9.10.2): the
    // classes are the same at runtime, but TypeScript sees two declarations of BaseAdapter.
    serverAdapter: adapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: {
      uiConfig: {
        boardTitle: admin ? 'ipa queues (admin)' : 'ipa queues (read-only)',
        hideDocsLink: true,
        miscLinks: [{ text: 'Runs dashboard', url: '/' }],
      },
    },
  });
  const r = Router();
  r.use((req: Request, res: Response, next: NextFunction) => {
    res.set('Content-Security-Policy', BOARD_CSP);
    // bull-board's read-only mode guards the routes it knows; this refuses every other write too.
    if (!admin && !READ_METHODS.has(req.method)) {
      res
        .status(405)
        .type('text/plain')
        .send('the queue board is read-only: start `ipa dashboard --queue-admin` (token required) to act on jobs');
      return;
    }
    next();
  });
  r.use(adapter.getRouter() as Router);
  return r;
}
