/**
 * One flight per key: callers asking for the same thing while it is being built share the one
 * promise, so a burst of requests or new pages costs one build, not one each.
 */
export class SingleFlight {
  private readonly flights = new Map<string, Promise<unknown>>();

  /** `work()` once for every caller that asks for `key` while it runs. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key);
    if (running) return running as Promise<T>;
    const flight = work().finally(() => this.flights.delete(key));
    this.flights.set(key, flight);
    return flight;
  }
}
