/**
 * The shape of an `ipa` sub-command. Each lives in `commands/<name>.ts` and exports `command`;
 * `main.ts` finds them by file name, so adding a command touches no shared registry.
 */
export interface Command {
  name: string;
  /** One line for `ipa --help`. */
  summary: string;
  /** Full `--help` text: usage, options, examples. */
  help: string;
  /** Returns the process exit code (see `ExitCode`). */
  run(argv: string[]): Promise<number>;
}

/** Documented exit codes (README, "Exit codes"). */
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
} as const;

/** An error the CLI prints as one clear message (no stack trace) with its exit code. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = ExitCode.failed) {
    super(message);
    this.name = 'CliError';
  }
}
