/**
 * A file's identity for caches that must notice any change: inode, size, mtime and ctime in
 * nanoseconds. A write, a rename over the file or a `touch -d` that restores the old mtime all
 * move ctime, which no user can set, so an unchanged stamp means unchanged bytes.
 */
import { statSync } from 'node:fs';

/** The stamp of `path` (links followed), or undefined when there is nothing there. */
export function fileStamp(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/**
 * A value computed from one file, computed again only when the file's stamp changes. A value
 * whose file is absent is not kept (the next call looks again).
 */
export class StampedValue<T> {
  private stamp?: string;
  private value?: T;

  constructor(
    readonly path: string,
    private readonly compute: (path: string) => T,
  ) {}

  get(): T {
    const now = fileStamp(this.path);
    if (now !== undefined && now === this.stamp) return this.value as T;
    const value = this.compute(this.path);
    // The stamp is taken before computing: a change made while computing is seen next time.
    this.stamp = now;
    this.value = value;
    return value;
  }
}
