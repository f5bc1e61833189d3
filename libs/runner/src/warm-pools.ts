import { DEMAND_WINDOW_MS, DemandWindow, splitWarmBudget } from './warm-budget';
import { WarmPool } from './warm-pool';
import { WarmTarget } from './warm-target';

/** How WarmPools prepares, checks and discards an item of an image. */
export interface WarmPoolsLifecycle<T> {
  prepare(image: string): Promise<T>;
  /** False when the item died while it waited (its container exited, say). */
  isUsable(item: T): boolean;
  discard(item: T): Promise<void>;
  /** Told once per run of failures of an image, not at every attempt. */
  onPrepareFailed(image: string, error: unknown): void;
}

/**
 * One warm pool per image within one budget of items in all (ready or being prepared).
 * Each fill keeps as many as the arrival of jobs calls for (WarmTarget) and shares them
 * among the images by their recent demand (splitWarmBudget), so the runtimes jobs ask for
 * are the ones kept warm. Knows nothing of Docker.
 */
export class WarmPools<T> {
  private readonly pools: Map<string, WarmPool<T>>;
  private readonly target: WarmTarget;

  /** `images`: the default runtime's first, which has the whole target until demand shows. */
  constructor(
    private readonly budget: number,
    private readonly images: readonly string[],
    lifecycle: WarmPoolsLifecycle<T>,
    now: () => number = Date.now,
    private readonly demand = new DemandWindow(DEMAND_WINDOW_MS, now),
  ) {
    this.target = new WarmTarget(now);
    const timedPrepare = async (image: string): Promise<T> => {
      const startedAt = now();
      const item = await lifecycle.prepare(image);
      this.target.recordPrepare(now() - startedAt);
      return item;
    };
    this.pools = new Map(
      images.map((image) => [
        image,
        new WarmPool<T>(0, {
          prepare: () => timedPrepare(image),
          isUsable: (item) => lifecycle.isUsable(item),
          discard: (item) => lifecycle.discard(item),
          onPrepareFailed: (error) => lifecycle.onPrepareFailed(image, error),
        }),
      ]),
    );
  }

  /** The items ready now: of one image, or of all. */
  readyCount(image?: string): number {
    if (image !== undefined) return this.pools.get(image)?.readyCount ?? 0;
    return [...this.pools.values()].reduce((sum, pool) => sum + pool.readyCount, 0);
  }

  /**
   * The image's item that will be ready first, as WarmPool.take; null when there is none
   * (the caller then prepares one itself). Either way the job counts as an arrival and as
   * demand for the image. An image without a pool is not counted.
   */
  take(image: string): Promise<T> | null {
    const pool = this.pools.get(image);
    if (!pool) return null;
    this.demand.record(image);
    this.target.recordArrival();
    return pool.take();
  }

  /**
   * What a job in a warm container found of its preload (the exit frame's `preload`): how
   * long it took to be ready, or how long it had been going when the job came.
   */
  recordPreload(preload: { readonly ready: boolean; readonly ms: number }): void {
    this.target.recordPreload(preload.ms, preload.ready);
  }

  /**
   * Sizes every pool by the target and recent demand (discarding the ready items a smaller
   * share leaves over), then fills them, never past the budget in all.
   */
  fill(): void {
    const target = this.target.of(this.budget);
    const shares = splitWarmBudget(target, this.images, this.demand.counts());
    for (const [image, pool] of this.pools) pool.resize(shares.get(image) ?? 0);
    // Preparations a pool started under a larger share still count against the budget.
    let room =
      this.budget - [...this.pools.values()].reduce((sum, pool) => sum + pool.heldCount, 0);
    for (const pool of this.pools.values()) room -= pool.fill(room);
  }

  /** Stops filling and discards every item, including those still being prepared. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
  }
}
