/** How a WarmPool prepares, checks and discards an item. */
export interface WarmPoolLifecycle<T> {
  prepare(): Promise<T>;
  /** False when the item died while it waited (its container exited, say). */
  isUsable(item: T): boolean;
  discard(item: T): Promise<void>;
  /** Told once per run of failures, not at every attempt. */
  onPrepareFailed(error: unknown): void;
}

/** An item on its way; a taker that claimed it gets it instead of the ready list. */
interface Preparation<T> {
  taker: { resolve(item: T): void; reject(error: unknown): void } | null;
}

/** The claimed item arrived dead: the taker prepares one of its own. */
export class WarmItemDiedError extends Error {
  constructor() {
    super('the warm item died while it was being prepared');
    this.name = 'WarmItemDiedError';
  }
}

/**
 * Containers started ahead of their jobs, each used once: a job that gets one skips
 * create, attach and start, or part of them. Knows nothing of Docker: it is given how to
 * prepare, check and discard an item.
 */
export class WarmPool<T> {
  private readonly ready: T[] = [];
  /** Oldest first: the one a taker claims is the one closest to ready. */
  private readonly preparing: Preparation<T>[] = [];
  /** What becomes of each preparation (ready, claimed, discarded): close waits for them. */
  private readonly outcomes = new Set<Promise<void>>();
  private closed = false;
  private failing = false;

  constructor(
    private size: number,
    private readonly lifecycle: WarmPoolLifecycle<T>,
  ) {}

  get readyCount(): number {
    return this.ready.length;
  }

  /** Preparations under way, claimed or not. */
  get preparingCount(): number {
    return this.preparing.length;
  }

  /** Ready items and unclaimed preparations: what the pool holds against its size. */
  get heldCount(): number {
    return this.ready.length + this.unclaimedCount();
  }

  /**
   * The item that will be ready first: a ready one, else the oldest preparation no one
   * claimed yet (the promise then rejects if that preparation fails or its item arrives
   * dead, and the caller prepares one itself); null when there is neither.
   */
  take(): Promise<T> | null {
    const ready = this.takeReady();
    return ready === null ? this.claim() : Promise.resolve(ready);
  }

  /** A ready item that is still usable, or null. */
  takeReady(): T | null {
    while (this.ready.length > 0) {
      const item = this.ready.shift() as T;
      if (this.lifecycle.isUsable(item)) return item;
      void this.lifecycle.discard(item);
    }
    return null;
  }

  /** The oldest preparation no one claimed yet, as take() hands it out; null when none is under way. */
  claim(): Promise<T> | null {
    const unclaimed = this.preparing.find((preparation) => preparation.taker === null);
    if (!unclaimed) return null;
    return new Promise<T>((resolve, reject) => {
      unclaimed.taker = { resolve, reject };
    });
  }

  /**
   * Changes the pool's size (WarmPools moves a shared budget between pools): ready items
   * beyond it are discarded at once, the oldest first. Preparations under way go on (a
   * taker may claim one); an unclaimed one is discarded once ready if there is no room then.
   */
  resize(size: number): void {
    this.size = size;
    const surplus = this.ready.length - size;
    if (surplus <= 0) return;
    for (const item of this.ready.splice(0, surplus)) void this.lifecycle.discard(item);
  }

  /**
   * Starts preparing items until the pool holds its size (heldCount), `room` of them at
   * most; answers how many it started.
   */
  fill(room = Number.POSITIVE_INFINITY): number {
    let started = 0;
    while (!this.closed && started < room && this.heldCount < this.size) {
      this.startPreparing();
      started += 1;
      // A failing engine would fail every attempt: try again at the next fill, not now.
      if (this.failing) break;
    }
    return started;
  }

  /** Stops filling and discards every item, including those still being prepared. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.outcomes);
    await Promise.all(this.ready.splice(0).map((item) => this.lifecycle.discard(item)));
  }

  private startPreparing(): void {
    const preparation: Preparation<T> = { taker: null };
    this.preparing.push(preparation);
    const outcome = this.lifecycle.prepare().then(
      async (item) => {
        this.failing = false;
        this.forget(preparation);
        const { taker } = preparation;
        // Claimed: the taker's job owns it, closed pool or not.
        if (taker && this.lifecycle.isUsable(item)) taker.resolve(item);
        else if (taker) {
          taker.reject(new WarmItemDiedError());
          await this.lifecycle.discard(item);
        } else if (this.closed || this.ready.length >= this.size) {
          // Closed, or shrunk meanwhile (resize): not wanted any more.
          await this.lifecycle.discard(item);
        } else this.ready.push(item);
      },
      (error: unknown) => {
        this.forget(preparation);
        preparation.taker?.reject(error);
        if (!this.failing) this.lifecycle.onPrepareFailed(error);
        this.failing = true;
      },
    );
    this.outcomes.add(outcome);
    void outcome.finally(() => this.outcomes.delete(outcome));
  }

  private forget(preparation: Preparation<T>): void {
    this.preparing.splice(this.preparing.indexOf(preparation), 1);
  }

  private unclaimedCount(): number {
    return this.preparing.filter((preparation) => preparation.taker === null).length;
  }
}
