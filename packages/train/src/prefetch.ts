/**
 * A bounded prefetch queue: keeps up to `depth` future items (training batches) in flight while the current
 * one is being consumed, so decoding on sharp's threads overlaps the forward/backward pass and the model
 * rarely waits for data. Items are produced for consecutive keys (steps) and handed out strictly in order.
 */

export class Prefetcher<T> {
  private readonly produce: (key: number) => Promise<T>;
  private readonly depth: number;
  private readonly end: number;
  private nextKey: number;
  private nextToRequest: number;
  private readonly pending = new Map<number, Promise<T>>();
  /** Total milliseconds `next()` spent waiting for an item that was not ready yet. */
  waitedMs = 0;

  constructor(produce: (key: number) => Promise<T>, opts: { start: number; end: number; depth: number }) {
    this.produce = produce;
    this.depth = Math.max(1, opts.depth);
    this.end = opts.end;
    this.nextKey = opts.start;
    this.nextToRequest = opts.start;
    this.fill();
  }

  private fill(): void {
    while (this.nextToRequest < this.end && this.nextToRequest < this.nextKey + this.depth) {
      const key = this.nextToRequest++;
      const p = this.produce(key);
      p.catch(() => {}); // surfaced when consumed
      this.pending.set(key, p);
    }
  }

  /** The item for the next key; rejects with the producer's error. */
  async next(): Promise<T> {
    const key = this.nextKey;
    if (key >= this.end) throw new Error(`Prefetcher: no items after key ${this.end - 1}`);
    const p = this.pending.get(key)!;
    this.pending.delete(key);
    this.nextKey += 1;
    this.fill();
    const t0 = performance.now();
    const item = await p;
    this.waitedMs += performance.now() - t0;
    return item;
  }

  /** Number of items requested but not yet consumed. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Stop requesting; already-started work finishes and is dropped. */
  close(): void {
    this.nextToRequest = this.end;
    this.pending.clear();
  }
}
