// A pool of things prepared ahead (runner containers, created and started) so a job does not wait for their
// start-up. Each is handed out once and never returned: the caller destroys it after its one job. Refilling
// runs in the background and nobody waits for it: a job that finds the pool empty prepares its own, so
// refilling never holds up a running job.

export class WarmPool<T> {
  private readonly ready: T[] = [];
  private readonly preparing = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly prepare: () => Promise<T>,
    private readonly discard: (item: T) => Promise<void>,
    private readonly onError: (err: Error) => void,
  ) {
    this.fill();
  }

  /**
   * A prepared item, or undefined when none is ready; starts a refill either way, on the next turn of the
   * event loop: preparing starts processes, and the caller hands its job over first.
   */
  take(): T | undefined {
    const item = this.ready.shift();
    setImmediate(() => this.fill());
    return item;
  }

  get readyCount(): number {
    return this.ready.length;
  }

  /** Prepares what is missing, all at once: under a steady load the pool must keep up with the jobs. */
  private fill(): void {
    while (!this.closed && this.ready.length + this.preparing.size < this.size) {
      const preparation: Promise<void> = this.prepare()
        .then(
          async (item) => {
            if (this.closed) await this.discard(item);
            else this.ready.push(item);
          },
          // Not retried here (a broken engine would spin): the next take() tries again; meanwhile jobs
          // prepare their own.
          (err: Error) => this.onError(err),
        )
        .finally(() => this.preparing.delete(preparation));
      this.preparing.add(preparation);
    }
  }

  /** Stops refilling and destroys what is ready. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.preparing]);
    await Promise.all(this.ready.splice(0).map((item) => this.discard(item)));
  }
}
