/**
 * Event lines with one live status line under them. On a terminal the status line is redrawn in
 * place (carriage return + clear line) and every event line is printed above it; anywhere else
 * (a pipe, a file, CI, TERM=dumb) there is no live line and no control character at all, only
 * whole lines.
 */
import { fit } from './progress-line.js';

/** Clears the current terminal line and returns to its start. */
const CLEAR_LINE = '\r\x1b[2K';

export class LiveTerminal {
  private status = '';

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    /** Whether a live line can be drawn. @defaultValue the stream is a terminal and TERM is not dumb */
    readonly live: boolean = !!out.isTTY && process.env.TERM !== 'dumb',
  ) {}

  /** Terminal width, when known. */
  get width(): number | undefined {
    return this.live ? this.out.columns : undefined;
  }

  /** Prints a permanent line above the live one. */
  line(text: string): void {
    if (this.live && this.status) this.out.write(`${CLEAR_LINE}${text}\n${this.status}`);
    else this.out.write(`${text}\n`);
  }

  /** Replaces the live line; ignored where there is none. */
  setStatus(text: string): void {
    if (!this.live) return;
    this.status = fit(text, this.width ? this.width - 1 : undefined);
    this.out.write(`${CLEAR_LINE}${this.status}`);
  }

  /** Removes the live line (before a final report, or on exit). */
  clearStatus(): void {
    if (this.live && this.status) this.out.write(CLEAR_LINE);
    this.status = '';
  }
}
