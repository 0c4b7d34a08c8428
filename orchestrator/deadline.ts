/**
 * A point in time that the steps of a shutdown share. Each step waits for its work only until
 * the deadline, so a stop ends in bounded time even when what it waits on never answers (a Redis
 * that is gone leaves ioredis commands pending forever: `maxRetriesPerRequest: null`).
 */

/** How long a long-lived command's stop may take after its grace, by default (`--stop-ms`). */
export const DEFAULT_STOP_MS = 5000;

export type Settled<T> = { ok: true; value: T } | { ok: false; reason: string };

export class Deadline {
  private constructor(readonly at: number) {}

  /** The deadline `ms` from now. */
  static in(ms: number): Deadline {
    return new Deadline(Date.now() + Math.max(0, ms));
  }

  /** Milliseconds left (0 once passed). */
  left(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** An earlier deadline: `ms` before this one (never before now). */
  less(ms: number): Deadline {
    return new Deadline(Math.max(Date.now(), this.at - ms));
  }

  /**
   * Waits for `work` until the deadline: its value, or why there is none (its error's message,
   * or that the deadline passed first; the work itself is not stopped).
   */
  async settle<T>(work: Promise<T>): Promise<Settled<T>> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Settled<T>>(
      (res) => (timer = setTimeout(() => res({ ok: false, reason: 'no answer in time' }), this.left())),
    );
    const done = work.then(
      (value): Settled<T> => ({ ok: true, value }),
      (err: unknown): Settled<T> => ({ ok: false, reason: err instanceof Error ? err.message : String(err) }),
    );
    try {
      return await Promise.race([done, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
