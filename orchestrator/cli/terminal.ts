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

/**
 * A block of lines redrawn in place (`ipa watch`): the cursor goes back to the block's first line
 * and everything below is cleared before the new block is written. Lines are cut to the width
 * and the block to the height of the terminal, so a wrapped line never breaks the count.
 */
export class RedrawnBlock {
  private drawn = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  draw(lines: readonly string[]): void {
    const rows = this.out.rows ? Math.max(1, this.out.rows - 1) : lines.length;
    const shown = lines.slice(0, rows).map((l) => fit(l, this.out.columns ? this.out.columns - 1 : undefined));
    const back = this.drawn ? `\x1b[${this.drawn}F\x1b[J` : '';
    this.out.write(`${back}${shown.join('\n')}\n`);
    this.drawn = shown.length;
  }
}
