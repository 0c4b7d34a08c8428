/**
 * Structured logs (pino). Every line about work carries run, round, stage and shard; use
 * `jobLogger` rather than the root logger once those are known.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Root logger; level from IPA_LOG_LEVEL (default info), JSON to stderr so stdout stays for command output. */
export const rootLogger: Logger = pino(
  { level: process.env.IPA_LOG_LEVEL ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
  pino.destination({ dest: 2, sync: false }),
);

export interface WorkCoordinates {
  run: string;
  round: number;
  stage: string;
  shard: number;
}

export function jobLogger(parent: Logger, c: WorkCoordinates & { job?: string }): Logger {
  return parent.child({ run: c.run, round: c.round, stage: c.stage, shard: c.shard, ...(c.job ? { job: c.job } : {}) });
}
