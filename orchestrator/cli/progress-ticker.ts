/**
 * Keeps a live progress line fresh once a second (elapsed time moves even when nothing
 * finishes). Where no live line can be drawn it logs the same text as a plain line every
 * `plainEveryMs` while there is work, so a long training step is never a silent gap in a log file.
 */
import type { Logger } from '../log.js';
import type { LiveTerminal } from './terminal.js';

export interface TickerOptions {
  term: LiveTerminal;
  log: Logger;
  /** The line to show at `now`; undefined when there is nothing to say (no line is logged then). */
  line: (now: number) => Promise<string | undefined>;
  /** @defaultValue 1000 */
  everyMs?: number;
  /** @defaultValue 30000 */
  plainEveryMs?: number;
}

export class ProgressTicker {
  private timer?: NodeJS.Timeout;
  private lastPlain = Date.now();
  private stopped = false;

  constructor(private readonly o: TickerOptions) {}

  start(): this {
    const tick = async () => {
      await this.tick().catch(() => undefined);
      if (!this.stopped) this.timer = setTimeout(tick, this.o.everyMs ?? 1000);
    };
    this.timer = setTimeout(tick, 0);
    return this;
  }

  /** The current line, drawn or logged as the terminal allows. */
  async tick(now = Date.now()): Promise<void> {
    const line = await this.o.line(now);
    if (this.stopped || line === undefined) return;
    if (this.o.term.live) this.o.term.setStatus(line);
    else if (now - this.lastPlain >= (this.o.plainEveryMs ?? 30_000)) {
      this.lastPlain = now;
      this.o.log.info({ event: 'progress' }, line);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.o.term.clearStatus();
  }
}
