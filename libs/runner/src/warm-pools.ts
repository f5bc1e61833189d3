import { DemandWindow, splitWarmBudget } from './warm-budget';
import { WarmPool } from './warm-pool';

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
 * One warm pool per image within one budget of items in all: each fill sizes the pools by
 * the images' recent demand (splitWarmBudget), so the runtimes jobs ask for are the ones
 * kept warm. Knows nothing of Docker.
 */
export class WarmPools<T> {
  private readonly pools: Map<string, WarmPool<T>>;

  /** `images`: the default runtime's first, which has the whole budget until demand shows. */
  constructor(
    private readonly budget: number,
    private readonly images: readonly string[],
    lifecycle: WarmPoolsLifecycle<T>,
    private readonly demand = new DemandWindow(),
  ) {
    this.pools = new Map(
      images.map((image) => [
        image,
        new WarmPool<T>(0, {
          prepare: () => lifecycle.prepare(image),
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
   * A ready item of the image, or null (the caller then prepares one itself); either way
   * the job counts as demand for the image. An image without a pool is not counted.
   */
  take(image: string): T | null {
    const pool = this.pools.get(image);
    if (!pool) return null;
    this.demand.record(image);
    return pool.take();
  }

  /** Sizes every pool by recent demand (discarding what a smaller share leaves over), then fills them. */
  fill(): void {
    const shares = splitWarmBudget(this.budget, this.images, this.demand.counts());
    for (const [image, pool] of this.pools) pool.resize(shares.get(image) ?? 0);
    for (const pool of this.pools.values()) pool.fill();
  }

  /** Stops filling and discards every item, including those still being prepared. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
  }
}
