/**
 * How a long-lived command (`ipa run`, `ipa worker`, `ipa dashboard`, `ipa ablate`) stops: one
 * SIGTERM or Ctrl-C ends it within `--stop-ms` whatever the state of Redis, as container runtimes
 * and service managers expect (one SIGTERM, about 10 s, then a kill). Each step of the orderly stop
 * waits on Redis only until a shared deadline (`Deadline`); should one still overrun, a last
 * resort kills the Python processes and exits, saying so.
 */
import { DEFAULT_STOP_MS } from '../deadline.js';
import { rootLogger } from '../log.js';
import { intFlag } from './context.js';

export const stopOptions = {
  'stop-ms': { type: 'string' },
} as const;

/** The `--stop-ms` help lines; `what` says what the command does in that time. */
export function stopHelp(what: string): string {
  return `Stopping:
  --stop-ms MS      after SIGTERM or Ctrl-C the command ends within this long (default ${DEFAULT_STOP_MS}),
                    whether or not Redis answers: ${what}. What needs Redis and gets no
                    answer in time is given up and named on the way out, with what becomes of it`;
}

/** `--stop-ms`, or the default. */
export function stopMs(values: { 'stop-ms'?: string }): number {
  return intFlag(values, 'stop-ms', 0) ?? DEFAULT_STOP_MS;
}

/** The part of a stop budget the orderly steps get; the rest is for saying what happened and exiting. */
export function orderlyPart(ms: number): number {
  return ms - Math.min(1000, ms / 10);
}

/** Kills the given processes (SIGKILL) and exits with `code` at once. */
export function exitNow(pids: readonly number[], code: number): never {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  process.exit(code);
}

/**
 * The last resort of a stop: in `ms`, unless cancelled, says that the orderly stop overran, kills
 * `pids()` and exits with `code`. Returns the cancel.
 */
export function exitAfter(ms: number, code: number, pids: () => readonly number[]): () => void {
  const timer = setTimeout(() => {
    rootLogger.warn(
      `the stop took longer than ${ms} ms: exiting now (Python processes killed; what was not handed back is computed again on continue)`,
    );
    exitNow(pids(), code);
  }, ms);
  timer.unref();
  return () => clearTimeout(timer);
}
