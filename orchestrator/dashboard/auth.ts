/**
 * Who may talk to the dashboard. It shows run data and, with `--queue-admin`, can act on jobs
 * (bull-board), so: loopback by default; any other address, or admin actions, need a token; a
 * token, once given, guards every request.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Cookie set after a valid `?token=`, so the page, its fetches and SSE work without the token in URLs. */
export const SESSION_COOKIE = 'ipa_dashboard';

/** Thrown when the requested binding would expose the dashboard without a token. */
export class DashboardConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DashboardConfigError';
  }
}

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Refuses a binding beyond loopback without a token, and queue admin actions without one even on
 * loopback (anyone on the machine could otherwise edit jobs); a blank token counts as none.
 */
export function checkBinding(host: string, token: string | undefined, queueAdmin = false): void {
  if (token !== undefined && token.trim() === '')
    throw new DashboardConfigError('the dashboard token is empty; give a non-empty --token or IPA_DASHBOARD_TOKEN');
  if (queueAdmin && token === undefined)
    throw new DashboardConfigError(
      '--queue-admin lets the board add, edit and delete jobs: it needs a token, even on loopback. Pass --token T (or set IPA_DASHBOARD_TOKEN).',
    );
  if (!isLoopback(host) && token === undefined)
    throw new DashboardConfigError(
      `refusing to serve the dashboard on ${host} without a token: anyone who can reach it could read runs and retry or delete jobs. ` +
        'Pass --token T (or set IPA_DASHBOARD_TOKEN), or bind 127.0.0.1.',
    );
}

/** Compares secrets in time independent of where they differ; hashing first equalises lengths. */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** The cookie holds a value derived from the token, never the token itself. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('ipa-dashboard-session-v1').digest('base64url');
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function deny(res: Response, status: number, message: string): void {
  res.status(status).set('WWW-Authenticate', 'Bearer realm="ipa-dashboard"').type('text/plain').send(message);
}

/**
 * Token check for every request (when a token is set), plus two browser-borne attacks guarded
 * even without one: DNS rebinding (a foreign Host name pointing at 127.0.0.1) and cross-site
 * POSTs to bull-board's retry/remove actions (an Origin that is not this server).
 */
export function authMiddleware(opts: { token?: string }): RequestHandler {
  const session = opts.token === undefined ? undefined : sessionValue(opts.token);
  return (req: Request, res: Response, next: NextFunction) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (opts.token === undefined && !isLoopback(host)) return deny(res, 403, 'forbidden: unexpected Host header');
    const origin = req.headers.origin;
    if (origin && req.method !== 'GET' && req.method !== 'HEAD') {
      let sameOrigin = false;
      try {
        sameOrigin = new URL(origin).host === req.headers.host;
      } catch {
        sameOrigin = false;
      }
      if (!sameOrigin) return deny(res, 403, 'forbidden: cross-origin request');
    }
    if (opts.token === undefined || session === undefined) return next();

    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && safeEqual(auth.slice(7).trim(), opts.token)) return next();
    const fromCookie = cookie(req, SESSION_COOKIE);
    if (fromCookie !== undefined && safeEqual(fromCookie, session)) return next();
    const q = req.query.token;
    if (typeof q === 'string' && safeEqual(q, opts.token)) {
      res.cookie(SESSION_COOKIE, session, { httpOnly: true, sameSite: 'strict', path: '/' });
      return next();
    }
    return deny(
      res,
      401,
      'unauthorized: give the dashboard token (Authorization: Bearer T, or open the URL with ?token=T once)',
    );
  };
}
