/**
 * Ctrl-C in two steps: the first SIGINT (or SIGTERM) asks for an orderly stop, a second one
 * forces the exit. Signals within `sameWithinMs` of the first count as that first one: npx and
 * other wrappers pass the terminal's SIGINT on to their child, which then gets one key press twice.
 */

export interface InterruptHandlers {
  /** The first signal: stop in order. */
  first(signal: NodeJS.Signals): void;
  /** Any later signal: exit now. */
  again(signal: NodeJS.Signals): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** Installs the handlers; returns the function that removes them. */
export function onInterrupt(
  h: InterruptHandlers,
  opts: { sameWithinMs?: number; now?: () => number } = {},
): () => void {
  const sameWithin = opts.sameWithinMs ?? 300;
  const now = opts.now ?? Date.now;
  let firstAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (firstAt === undefined) {
      firstAt = now();
      h.first(signal);
    } else if (now() - firstAt >= sameWithin) h.again(signal);
  };
  for (const s of SIGNALS) process.on(s, handler);
  return () => {
    for (const s of SIGNALS) process.removeListener(s, handler);
  };
}
