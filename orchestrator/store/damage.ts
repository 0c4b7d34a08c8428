/**
 * A run file that cannot be used as it is: truncated, not JSON, the wrong shape, or a link that
 * leaves the run directory. Such a file damages its run only: commands name the file and the
 * reason and exit with the input-error code (3); listings show the other runs.
 */
import { lstatSync } from 'node:fs';
import { ExitCode, IpaError } from '../errors.js';
import { NotRegularFile, readRegularText } from '../regular-file.js';

export class RunDamaged extends IpaError {
  constructor(
    /** The damaged file (absolute path). */
    readonly file: string,
    /** What is wrong with it, in words. */
    readonly reason: string,
    /** What the user can do about it. @defaultValue none */
    readonly hint?: string,
  ) {
    super(`${file}: ${reason}${hint ? ` (${hint})` : ''}`, ExitCode.invalidInput);
    this.name = 'RunDamaged';
  }
}

/** The reason a JSON text does not parse, in words (the parser's message, without its stack). */
function parseProblem(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return /Unexpected end|Unterminated/.test(msg) ? `truncated JSON (${msg})` : `not valid JSON (${msg})`;
}

/**
 * A JSON object from a run file; `RunDamaged` when the file is missing, a symbolic link (run
 * files are written in place, never linked), not a regular file (a named pipe is never read),
 * unreadable, not JSON or not an object.
 */
export function readJsonObject(path: string, hint?: string): Record<string, unknown> {
  let text: string;
  try {
    if (lstatSync(path).isSymbolicLink())
      throw new RunDamaged(path, 'is a symbolic link; run files are never links', hint);
    text = readRegularText(path);
  } catch (err) {
    if (err instanceof RunDamaged) throw err;
    if (err instanceof NotRegularFile)
      throw new RunDamaged(path, `is a ${err.kind}, not a regular file; it was not read`, hint);
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunDamaged(path, code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? String(err)})`, hint);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RunDamaged(path, parseProblem(err), hint);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new RunDamaged(path, 'is not a JSON object', hint);
  return value as Record<string, unknown>;
}
