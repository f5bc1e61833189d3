import { topLevelPackage } from './imported-modules';
import { DEMAND_WINDOW_MS, DemandWindow, splitWarmBudget } from './warm-budget';
import { WarmPool } from './warm-pool';
import { WarmTarget } from './warm-target';

/** What a warm container is: its image, and the modules its harness preloads. */
export interface WarmKind {
  readonly image: string;
  readonly preload: readonly string[];
}

/** How WarmPools prepares, checks and discards an item of a kind. */
export interface WarmPoolsLifecycle<T> {
  prepare(kind: WarmKind): Promise<T>;
  /** False when the item died while it waited (its container exited, say). */
  isUsable(item: T): boolean;
  discard(item: T): Promise<void>;
  /** Told once per run of failures of a kind, not at every attempt. */
  onPrepareFailed(image: string, error: unknown): void;
}

/**
 * Warm pools by kind (image, and the preload the jobs of that image import) within one
 * budget of items in all, ready or being prepared. Each fill keeps as many as the arrival
 * of jobs calls for (WarmTarget) and shares them among the kinds by their recent demand
 * (splitWarmBudget): a job that imports pandas finds a container that preloaded it, a job
 * that imports nothing one that spent no CPU on it. Knows nothing of Docker.
 */
export class WarmPools<T> {
  /** By kind key, the default kind first (it has the whole target until demand shows). */
  private readonly pools = new Map<
    string,
    { readonly kind: WarmKind; readonly pool: WarmPool<T> }
  >();
  private readonly target: WarmTarget;

  /**
   * `images`: the default runtime's first; `preload`: the modules a warm container may
   * preload (SANDBOX_PRELOAD), of which each kind has those its jobs import.
   */
  constructor(
    private readonly budget: number,
    private readonly images: readonly string[],
    private readonly preload: readonly string[],
    private readonly lifecycle: WarmPoolsLifecycle<T>,
    private readonly now: () => number = Date.now,
    private readonly demand = new DemandWindow(DEMAND_WINDOW_MS, now),
  ) {
    this.target = new WarmTarget(now);
    if (images.length > 0) this.poolOf({ image: images[0], preload });
  }

  /** The items ready now: of one image, or of all. */
  readyCount(image?: string): number {
    return [...this.pools.values()]
      .filter((entry) => image === undefined || entry.kind.image === image)
      .reduce((sum, entry) => sum + entry.pool.readyCount, 0);
  }

  /**
   * For a job of `image` that imports `imports` (top-level packages): the item that will
   * be ready first, of its own kind if one is ready, else of another kind of the image
   * (a module preloaded more or less), else a preparation under way, its kind's first;
   * null when there is none (the caller then prepares one itself). Either way the job
   * counts as an arrival and as demand for its kind. An image without a pool is not counted.
   */
  take(image: string, imports: ReadonlySet<string> = new Set()): Promise<T> | null {
    if (!this.images.includes(image)) return null;
    const kind = {
      image,
      preload: this.preload.filter((module) => imports.has(topLevelPackage(module))),
    };
    const own = this.poolOf(kind);
    this.demand.record(keyOf(kind));
    this.target.recordArrival();
    const others = [...this.pools.values()]
      .filter((entry) => entry.kind.image === image && entry.pool !== own)
      .map((entry) => entry.pool);
    for (const pool of [own, ...others]) {
      const ready = pool.takeReady();
      if (ready !== null) return Promise.resolve(ready);
    }
    for (const pool of [own, ...others]) {
      const claimed = pool.claim();
      if (claimed !== null) return claimed;
    }
    return null;
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
   * share leaves over), then fills them, never past the budget in all, nor past
   * `maxPreparing` preparations under way at once (claimed ones included): each costs the
   * engine CPU that the jobs running would otherwise have.
   */
  fill(maxPreparing = Number.POSITIVE_INFINITY): void {
    const demand = this.demand.counts();
    // Every kind jobs asked for lately keeps one, while the budget lasts.
    const target = Math.min(this.budget, Math.max(this.target.of(this.budget), demand.size));
    const shares = splitWarmBudget(target, [...this.pools.keys()], demand);
    for (const [key, { pool }] of this.pools) pool.resize(shares.get(key) ?? 0);
    // Preparations a pool started under a larger share still count against the budget.
    let room = this.budget;
    let preparing = 0;
    for (const { pool } of this.pools.values()) {
      room -= pool.heldCount;
      preparing += pool.preparingCount;
    }
    room = Math.min(room, maxPreparing - preparing);
    for (const { pool } of this.pools.values()) room -= pool.fill(Math.max(0, room));
  }

  /** Stops filling and discards every item, including those still being prepared. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map(({ pool }) => pool.close()));
  }

  private poolOf(kind: WarmKind): WarmPool<T> {
    const key = keyOf(kind);
    const existing = this.pools.get(key);
    if (existing) return existing.pool;
    const pool = new WarmPool<T>(0, {
      prepare: async () => {
        const startedAt = this.now();
        const item = await this.lifecycle.prepare(kind);
        this.target.recordPrepare(this.now() - startedAt);
        return item;
      },
      isUsable: (item) => this.lifecycle.isUsable(item),
      discard: (item) => this.lifecycle.discard(item),
      onPrepareFailed: (error) => this.lifecycle.onPrepareFailed(kind.image, error),
    });
    this.pools.set(key, { kind, pool });
    return pool;
  }
}

function keyOf(kind: WarmKind): string {
  return `${kind.image}|${kind.preload.join(',')}`;
}
