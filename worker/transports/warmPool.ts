// A pool of things prepared ahead (runner containers, created and started) so a job does not wait for their
// start-up. Each is handed out once and never returned: the caller destroys it after its one job. Refilling
// runs in the background, one at a time, and nobody waits for it: a job that finds the pool empty prepares
// its own, so refilling never holds up a running job.

export class WarmPool<T> {
  private readonly ready: T[] = [];
  private filling: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly prepare: () => Promise<T>,
    private readonly discard: (item: T) => Promise<void>,
    private readonly onError: (err: Error) => void,
  ) {
    this.fill();
  }

  /** A prepared item, or undefined when none is ready; starts a refill either way. */
  take(): T | undefined {
    const item = this.ready.shift();
    this.fill();
    return item;
  }

  get readyCount(): number {
    return this.ready.length;
  }

  private fill(): void {
    if (this.filling || this.closed || this.ready.length >= this.size) return;
    this.filling = (async () => {
      try {
        while (!this.closed && this.ready.length < this.size) {
          const item = await this.prepare();
          if (this.closed) {
            await this.discard(item);
            return;
          }
          this.ready.push(item);
        }
      } catch (err) {
        // The next take() tries again; meanwhile jobs prepare their own.
        this.onError(err as Error);
      } finally {
        this.filling = null;
      }
    })();
  }

  /** Stops refilling and destroys what is ready. */
  async close(): Promise<void> {
    this.closed = true;
    await this.filling;
    await Promise.all(this.ready.splice(0).map((item) => this.discard(item)));
  }
}
