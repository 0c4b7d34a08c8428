/**
 * pino's JSON lines as a person reads them: `HH:MM:SS  message`, warnings and errors said so,
 * with the one detail that explains them (the error text), never the whole object. Messages are
 * written as sentences by whoever logs them (a job's place in the run comes first, through
 * `jobLogger`'s prefix), so nothing here knows about stages or runs.
 */

/** pino's numeric levels. */
export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

/** Fields whose text explains a warning or an error, in the order they are shown. */
const DETAIL_FIELDS = ['err', 'error', 'message', 'reason'] as const;

function clock(time: unknown): string {
  const d = typeof time === 'string' || typeof time === 'number' ? new Date(time) : new Date();
  const t = Number.isNaN(d.getTime()) ? new Date() : d;
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** The first line of a text (tracebacks and stderr tails stay in the JSON log and the job logs). */
export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim()) ?? '';
  return line.trim();
}

function detail(entry: Record<string, unknown>, msg: string): string {
  for (const k of DETAIL_FIELDS) {
    const v = entry[k];
    const text =
      typeof v === 'string'
        ? v
        : v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string'
          ? (v as { message: string }).message
          : undefined;
    if (text && !msg.includes(firstLine(text))) return firstLine(text);
  }
  return '';
}

/** One log entry (a parsed pino line) as one line of text, without a newline. */
export function humanLogLine(entry: Record<string, unknown>): string {
  const level = typeof entry.level === 'number' ? entry.level : LEVELS.info;
  const msg = firstLine(typeof entry.msg === 'string' ? entry.msg : '');
  const label = level >= LEVELS.error ? 'error: ' : level >= LEVELS.warn ? 'warning: ' : '';
  const why = level >= LEVELS.warn ? detail(entry, msg) : '';
  return `${clock(entry.time)}  ${label}${msg}${why ? ` — ${why}` : ''}`;
}
