/**
 * Passes on at most `perSecond` updates a second; the newest update held back is delivered when
 * the interval ends (or on `flush`), so the last one is never lost. Used between the Python
 * process's progress messages and BullMQ's `job.updateProgress`, which writes to Redis.
 */
export class ProgressThrottle<T> {
  private readonly intervalMs: number;
  private last = -Infinity;
  private held: { value: T } | undefined;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param perSecond - most updates passed on per second
   * @param sink - receives the updates that pass
   * @param now - clock in milliseconds (tests inject one) @defaultValue `Date.now`
   */
  constructor(
    perSecond: number,
    private readonly sink: (value: T) => void,
    private readonly now: () => number = Date.now,
  ) {
    if (!(perSecond > 0)) throw new RangeError(`perSecond must be > 0, got ${perSecond}`);
    this.intervalMs = 1000 / perSecond;
  }

  /** Offers an update: passed on now if the interval has elapsed, else held (replacing an older one). */
  push(value: T): void {
    const wait = this.last + this.intervalMs - this.now();
    if (wait <= 0 && !this.held) {
      this.emit(value);
      return;
    }
    this.held = { value };
    this.timer ??= setTimeout(
      () => {
        this.timer = undefined;
        this.flush();
      },
      Math.max(0, wait),
    );
    this.timer.unref?.();
  }

  /** Passes on the held update, if any, at once (call when the work ends). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const held = this.held;
    this.held = undefined;
    if (held) this.emit(held.value);
  }

  /** Whether an update is waiting to be passed on. */
  get pending(): boolean {
    return this.held !== undefined;
  }

  private emit(value: T): void {
    this.last = this.now();
    this.sink(value);
  }
}
