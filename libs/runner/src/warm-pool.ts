/**
 * Containers started ahead of their jobs, each used once: a job that finds one ready
 * skips create, attach and start. Knows nothing of Docker: it is given how to prepare,
 * check and discard an item.
 */
export class WarmPool<T> {
  private readonly ready: T[] = [];
  private readonly preparing = new Set<Promise<void>>();
  private closed = false;
  private failing = false;

  constructor(
    private size: number,
    private readonly lifecycle: {
      prepare(): Promise<T>;
      /** False when the item died while it waited (its container exited, say). */
      isUsable(item: T): boolean;
      discard(item: T): Promise<void>;
      /** Told once per run of failures, not at every attempt. */
      onPrepareFailed(error: unknown): void;
    },
  ) {}

  get readyCount(): number {
    return this.ready.length;
  }

  /** A ready item, or null when none is (the caller then prepares one itself). */
  take(): T | null {
    while (this.ready.length > 0) {
      const item = this.ready.shift() as T;
      if (this.lifecycle.isUsable(item)) return item;
      void this.lifecycle.discard(item);
    }
    return null;
  }

  /**
   * Changes the pool's size (WarmPools moves a shared budget between pools): ready items
   * beyond it are discarded at once, the oldest first; an item still being prepared is
   * discarded once ready if there is no room for it then.
   */
  resize(size: number): void {
    this.size = size;
    const surplus = this.ready.length - size;
    if (surplus <= 0) return;
    for (const item of this.ready.splice(0, surplus)) void this.lifecycle.discard(item);
  }

  /** Starts preparing items until ready and preparing ones make up the pool's size. */
  fill(): void {
    while (!this.closed && this.ready.length + this.preparing.size < this.size) {
      const preparation = this.lifecycle.prepare().then(
        async (item) => {
          this.failing = false;
          // Shrunk meanwhile (resize), or closed: not wanted any more.
          if (this.closed || this.ready.length >= this.size) await this.lifecycle.discard(item);
          else this.ready.push(item);
        },
        (error: unknown) => {
          if (!this.failing) this.lifecycle.onPrepareFailed(error);
          this.failing = true;
        },
      );
      this.preparing.add(preparation);
      void preparation.finally(() => this.preparing.delete(preparation));
      // A failing engine would fail every attempt: try again at the next fill, not now.
      if (this.failing) return;
    }
  }

  /** Stops filling and discards every item, including those still being prepared. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.preparing);
    await Promise.all(this.ready.splice(0).map((item) => this.lifecycle.discard(item)));
  }
}
