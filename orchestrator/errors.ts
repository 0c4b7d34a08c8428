/**
 * The bottom of the dependency order: the exit codes a user sees (README, "Exit codes") and the
 * base class of every error that carries one. Any layer may throw an `IpaError`; the CLI prints
 * its message (never a stack trace) and exits with its code.
 */

/** Documented exit codes. */
export const ExitCode = {
  ok: 0,
  /** A run finished but failed, or a command's work failed. */
  failed: 1,
  /** Wrong usage: unknown command or option, missing argument. */
  usage: 2,
  /** Invalid recipe or input data. */
  invalidInput: 3,
  /** Redis could not be reached. */
  redisUnavailable: 4,
  /** The run (or other named thing) does not exist. */
  notFound: 5,
  /** The run was cancelled. */
  cancelled: 6,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM: the run is `interrupted` and can be continued (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

/** An error meant for a person: one clear message and the exit code it ends a command with. */
export class IpaError extends Error {
  /**
   * @param exitCode - the command's exit code @defaultValue `ExitCode.failed`
   */
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failed,
  ) {
    super(message);
    this.name = 'IpaError';
  }
}
