/**
 * Splits a stream of text chunks into lines. Chunks may end mid-line and a line may span many
 * chunks (a large result), so pieces are collected in an array and joined once, at the newline.
 */
export class LineSplitter {
  private parts: string[] = [];

  /** @param onLine - called with each complete line, without its `\n` (or `\r\n`) */
  constructor(private readonly onLine: (line: string) => void) {}

  /** Feeds one decoded chunk; calls `onLine` for every line it completes. */
  push(chunk: string): void {
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl !== -1) {
      let line = chunk.slice(start, nl);
      if (this.parts.length > 0) {
        this.parts.push(line);
        line = this.parts.join('');
        this.parts = [];
      }
      this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) this.parts.push(start === 0 ? chunk : chunk.slice(start));
  }

  /** Emits a final line that had no newline (the stream ended). */
  flush(): void {
    if (this.parts.length === 0) return;
    const line = this.parts.join('');
    this.parts = [];
    this.onLine(line);
  }
}
