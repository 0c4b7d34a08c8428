/**
 * Structured logs (pino). Every line about work carries run, round, stage and shard; use
 * `jobLogger` rather than the root logger once those are known. Lines go to `logSink`: the
 * console (human words by default, JSON with `--log-format json`) and each run's
 * `logs/orchestrator.jsonl` (always JSON).
 */
import { pino, type Logger } from 'pino';
import { LogSink, type ConsoleOptions } from './log-sink.js';

export type { Logger };
export { LEVELS } from './log-format.js';
export { LOG_FORMATS, ORCHESTRATOR_LOG, type LogFormat } from './log-sink.js';

/** Where every line of `rootLogger` goes; the CLI configures its console part. */
export const logSink = new LogSink();

/** Root logger; level from IPA_LOG_LEVEL (default info); stdout stays for command output. */
export const rootLogger: Logger = pino(
  { level: process.env.IPA_LOG_LEVEL ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
  logSink,
);

/** Sets how the console shows log lines (format, where they are printed, which are shown). */
export function configureConsoleLog(opts: ConsoleOptions): void {
  logSink.configureConsole(opts);
}

/** Files the lines about `runId` in its run directory (`driving`: lines about no run too). */
export function logToRunDir(runId: string, dir: string, opts: { driving?: boolean } = {}): void {
  logSink.routeRun(runId, dir, opts);
}

export interface WorkCoordinates {
  run: string;
  round: number;
  stage: string;
  shard: number;
}

/**
 * A logger for one job: its coordinates as fields, and `place` (e.g. "round 1 · sample · shard 2")
 * before every message, so a line read alone says which job it is about. With `job`, its lines
 * also go to that job's log in the run (log-sink.ts).
 */
export function jobLogger(parent: Logger, c: WorkCoordinates & { job?: string; place?: string }): Logger {
  const bindings = {
    run: c.run,
    round: c.round,
    stage: c.stage,
    shard: c.shard,
    ...(c.job ? { job: c.job } : {}),
    ...(c.place ? { place: c.place } : {}),
  };
  return c.place ? parent.child(bindings, { msgPrefix: `${c.place}: ` }) : parent.child(bindings);
}
