/**
 * The shape of an `ipa` sub-command. Each lives in `commands/<name>.ts` and exports `command`;
 * `main.ts` finds them by file name, so adding a command touches no shared registry.
 */
import { ExitCode, IpaError } from '../errors.js';

export { ExitCode, IpaError };

export interface Command {
  name: string;
  /** One line for `ipa --help`. */
  summary: string;
  /** Full `--help` text: usage, options, examples. */
  help: string;
  /** Returns the process exit code (see `ExitCode`). */
  run(argv: string[]): Promise<number>;
}

/** A usage or command error raised by the CLI itself; any `IpaError` is printed the same way. */
export class CliError extends IpaError {
  constructor(message: string, exitCode: number = ExitCode.failed) {
    super(message, exitCode);
    this.name = 'CliError';
  }
}
