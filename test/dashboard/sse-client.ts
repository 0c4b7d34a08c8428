/** A minimal server-sent-events reader over fetch, for tests: yields `{event, data}` as they arrive. */
export interface SseEvent {
  event: string;
  data: unknown;
}

export class SseClient {
  private readonly queue: SseEvent[] = [];
  private waiters: Array<() => void> = [];
  private readonly abort = new AbortController();
  status = 0;

  private constructor() {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: c.abort.signal });
    c.status = res.status;
    if (res.ok && res.body) void c.pump(res.body);
    return c;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body) {
        buf += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const raw = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of raw.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (!data.length) continue; // comments, retry hints
          this.queue.push({ event, data: JSON.parse(data.join('\n')) });
          for (const w of this.waiters.splice(0)) w();
        }
      }
    } catch {
      // aborted by close()
    }
  }

  /** The next event named `event` that satisfies `pred`, skipping others; rejects after `timeoutMs`. */
  async next<T>(event: string, pred: (data: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.queue.findIndex((e) => e.event === event && pred(e.data as T));
      if (i >= 0) return this.queue.splice(i, 1)[0].data as T;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no '${event}' event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort.abort();
  }
}
