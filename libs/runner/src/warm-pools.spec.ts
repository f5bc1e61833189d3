import { DemandWindow } from './warm-budget';
import { WarmKind, WarmPools } from './warm-pools';

interface Item {
  readonly image: string;
  /** The kind's preload, comma-separated. */
  readonly preload: string;
  readonly id: number;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Pools whose preparations settle when the spec says so, on a clock the spec moves;
 * warm containers may preload `preload`.
 */
function poolsOf(
  budget: number,
  images: string[],
  failing: Set<string> = new Set(),
  preload: string[] = [],
) {
  let next = 0;
  let now = 0;
  const pending: { kind: WarmKind; resolve(item: Item): void; reject(error: Error): void }[] = [];
  const discarded: Item[] = [];
  const failures: string[] = [];
  const clock = () => now;
  const pools = new WarmPools<Item>(
    budget,
    images,
    preload,
    {
      prepare: (kind) =>
        new Promise<Item>((resolve, reject) => pending.push({ kind, resolve, reject })),
      isUsable: () => true,
      discard: (item) => {
        discarded.push(item);
        return Promise.resolve();
      },
      onPrepareFailed: (image) => failures.push(image),
    },
    clock,
    new DemandWindow(60_000, clock),
  );
  /** Every preparation under way takes `ms`, then succeeds (fails, for a failing image). */
  async function prepared(ms = 500): Promise<void> {
    now += ms;
    for (const { kind, resolve, reject } of pending.splice(0)) {
      if (failing.has(kind.image)) reject(new Error('no image'));
      else resolve({ image: kind.image, preload: kind.preload.join(','), id: next++ });
    }
    await settle();
  }
  const pendingImages = () => pending.map((preparation) => preparation.kind.image);
  const pendingPreloads = () => pending.map((preparation) => preparation.kind.preload.join(','));
  return {
    pools,
    discarded,
    failures,
    pendingImages,
    pendingPreloads,
    prepared,
    advance: (ms: number) => (now += ms),
  };
}

function takeTimes(
  pools: WarmPools<Item>,
  image: string,
  times: number,
  imports: ReadonlySet<string> = new Set(),
): void {
  for (let i = 0; i < times; i += 1) void pools.take(image, imports);
}

describe('WarmPools', () => {
  it('warms the first image with the whole budget until a job comes', async () => {
    const { pools, prepared } = poolsOf(3, ['default', 'minimal']);
    pools.fill();
    await prepared();
    expect(pools.readyCount('default')).toBe(3);
    expect(pools.readyCount('minimal')).toBe(0);
  });

  it('keeps as many as the arrival rate calls for, and one ready once jobs are rare', async () => {
    const { pools, discarded, pendingImages, prepared, advance } = poolsOf(6, ['default']);
    pools.fill();
    await prepared(500);
    // 60 jobs in 10 s, 500 ms to prepare one: 3 under way, plus one ready.
    takeTimes(pools, 'default', 60);
    pools.fill();
    expect(pendingImages()).toHaveLength(4);
    await prepared(500);
    expect(pools.readyCount()).toBe(4);
    advance(10_001);
    pools.fill();
    expect(pools.readyCount()).toBe(1);
    expect(discarded).toHaveLength(3);
    expect(pendingImages()).toEqual([]);
  });

  it('shares the target among the images jobs ask for, in proportion to their jobs', async () => {
    const { pools, pendingImages, prepared } = poolsOf(4, ['default', 'minimal']);
    pools.fill();
    await prepared(1000);
    takeTimes(pools, 'default', 5);
    takeTimes(pools, 'minimal', 10);
    // 1.5 jobs a second, 1 s to prepare: a target of 3, shared 1 : 2.
    pools.fill();
    expect(pendingImages().sort()).toEqual(['default', 'minimal', 'minimal']);
    await prepared(1000);
    expect([pools.readyCount('default'), pools.readyCount('minimal')]).toEqual([1, 2]);
    expect((await pools.take('minimal'))?.image).toBe('minimal');
  });

  it('hands a job the preparation under way when nothing is ready', async () => {
    const { pools, prepared } = poolsOf(2, ['default']);
    pools.fill();
    const claimed = pools.take('default');
    expect(claimed).not.toBeNull();
    await prepared();
    expect((await claimed)?.image).toBe('default');
    expect(pools.readyCount()).toBe(1);
  });

  it('goes back to the first image once the demand has aged out of the window', async () => {
    const { pools, discarded, prepared, advance } = poolsOf(2, ['default', 'minimal']);
    takeTimes(pools, 'minimal', 20);
    pools.fill();
    await prepared();
    expect(pools.readyCount('minimal')).toBe(2);
    advance(60_001);
    pools.fill();
    await prepared();
    // No job for a while: one ready, of the first image.
    expect([pools.readyCount('default'), pools.readyCount('minimal')]).toEqual([1, 0]);
    expect(discarded.map((item) => item.image)).toEqual(['minimal', 'minimal']);
  });

  it('lets preparations of a smaller share finish, discards them once ready, and never holds more than the budget', async () => {
    const { pools, discarded, pendingImages, prepared } = poolsOf(2, ['default', 'minimal']);
    pools.fill();
    takeTimes(pools, 'minimal', 20);
    pools.fill();
    // The whole target moved to minimal, but default's two are still on their way: the
    // budget has no room for minimal's yet.
    expect(pendingImages()).toEqual(['default', 'default']);
    await prepared();
    expect(discarded.map((item) => item.image)).toEqual(['default', 'default']);
    expect(pools.readyCount('default')).toBe(0);
    pools.fill();
    expect(pendingImages()).toEqual(['minimal', 'minimal']);
  });

  it('counts no demand for an image it has no pool for', async () => {
    const { pools, prepared } = poolsOf(2, ['default']);
    expect(pools.take('elsewhere')).toBeNull();
    pools.fill();
    await prepared();
    expect(pools.readyCount('default')).toBe(2);
  });

  it('reports an image whose containers cannot be prepared, once per run of failures', async () => {
    const { pools, failures, prepared } = poolsOf(2, ['default', 'minimal'], new Set(['minimal']));
    takeTimes(pools, 'minimal', 10);
    takeTimes(pools, 'default', 10);
    pools.fill();
    await prepared();
    pools.fill();
    await prepared();
    expect(failures).toEqual(['minimal']);
    expect(pools.readyCount('default')).toBe(1);
  });

  it('discards every item on close, including those still being prepared', async () => {
    const { pools, discarded, prepared } = poolsOf(2, ['default', 'minimal']);
    takeTimes(pools, 'default', 10);
    takeTimes(pools, 'minimal', 10);
    pools.fill();
    const closed = pools.close();
    await prepared();
    await closed;
    expect(pools.readyCount()).toBe(0);
    expect(discarded.map((item) => item.image).sort()).toEqual(['default', 'minimal']);
  });

  describe('kinds: what a warm container preloads follows what its jobs import', () => {
    const PRELOAD = ['numpy', 'pandas'];

    it('warms the first image with the whole preload until a job comes', () => {
      const { pools, pendingPreloads } = poolsOf(2, ['default'], new Set(), PRELOAD);
      pools.fill();
      expect(pendingPreloads()).toEqual(['numpy,pandas', 'numpy,pandas']);
    });

    it('shares the target between the kinds jobs need, each preloading what its jobs import', async () => {
      const { pools, pendingPreloads, prepared } = poolsOf(4, ['default'], new Set(), PRELOAD);
      pools.fill();
      await prepared(1000);
      takeTimes(pools, 'default', 5, new Set(['pandas', 'os']));
      takeTimes(pools, 'default', 5, new Set(['os']));
      // 1 job a second, 1 s to prepare: a target of 2, one of each kind.
      pools.fill();
      expect(pendingPreloads().sort()).toEqual(['', 'pandas']);
    });

    it('gives a job its own kind first, then a ready one of another kind, then a preparation', async () => {
      const { pools, prepared } = poolsOf(4, ['default'], new Set(), PRELOAD);
      pools.fill();
      await prepared(1000);
      // 2 jobs a second, 1 s to prepare: a target of 3, 2 of pandas and 1 bare.
      takeTimes(pools, 'default', 10, new Set(['pandas']));
      takeTimes(pools, 'default', 10, new Set());
      pools.fill();
      await prepared(1000);
      expect((await pools.take('default', new Set(['pandas'])))?.preload).toBe('pandas');
      expect((await pools.take('default', new Set()))?.preload).toBe('');
      // Its own kind has none ready: a ready one of another kind will do.
      expect((await pools.take('default', new Set()))?.preload).toBe('pandas');
    });

    it('claims a preparation of its own kind before one of another', async () => {
      const { pools, pendingPreloads, prepared } = poolsOf(2, ['default'], new Set(), PRELOAD);
      takeTimes(pools, 'default', 10, new Set(['pandas']));
      takeTimes(pools, 'default', 10, new Set());
      pools.fill();
      expect(pendingPreloads().sort()).toEqual(['', 'pandas']);
      const claimed = pools.take('default', new Set(['pandas']));
      await prepared();
      expect((await claimed)?.preload).toBe('pandas');
    });
  });

  it('keeps no more preparations under way at once than it is told, claimed ones included', async () => {
    const { pools, pendingImages, prepared } = poolsOf(4, ['default']);
    pools.fill(1);
    expect(pendingImages()).toHaveLength(1);
    const claimed = pools.take('default');
    pools.fill(1);
    expect(pendingImages()).toHaveLength(1);
    // Room for three: the claimed one, and one for the target (one job in ten seconds).
    pools.fill(3);
    expect(pendingImages()).toHaveLength(2);
    await prepared();
    expect((await claimed)?.image).toBe('default');
  });

  it('keeps one of every kind jobs asked for lately, while the budget lasts', () => {
    const { pools, pendingPreloads } = poolsOf(3, ['default'], new Set(), ['pandas', 'scipy']);
    // One job of each kind in ten minutes: a target of one, but three kinds in demand.
    void pools.take('default', new Set(['pandas']));
    void pools.take('default', new Set(['scipy']));
    void pools.take('default', new Set());
    pools.fill();
    expect(pendingPreloads().sort()).toEqual(['', 'pandas', 'scipy']);
  });
});
