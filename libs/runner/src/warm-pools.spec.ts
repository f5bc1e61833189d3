import { DemandWindow } from './warm-budget';
import { WarmPools } from './warm-pools';

interface Item {
  readonly image: string;
  readonly id: number;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function poolsOf(budget: number, images: string[], failing: Set<string> = new Set()) {
  let next = 0;
  let now = 0;
  const discarded: Item[] = [];
  const failures: string[] = [];
  const pools = new WarmPools<Item>(
    budget,
    images,
    {
      prepare: (image) =>
        failing.has(image)
          ? Promise.reject(new Error(`no image ${image}`))
          : Promise.resolve({ image, id: next++ }),
      isUsable: () => true,
      discard: (item) => {
        discarded.push(item);
        return Promise.resolve();
      },
      onPrepareFailed: (image) => failures.push(image),
    },
    new DemandWindow(60_000, () => now),
  );
  return { pools, discarded, failures, advance: (ms: number) => (now += ms) };
}

describe('WarmPools', () => {
  it('warms the first image with the whole budget until jobs ask for others', async () => {
    const { pools } = poolsOf(3, ['default', 'minimal']);
    pools.fill();
    await settle();
    expect(pools.readyCount('default')).toBe(3);
    expect(pools.readyCount('minimal')).toBe(0);
  });

  it('moves the budget to the images jobs ask for, discarding what the smaller share leaves over', async () => {
    const { pools, discarded } = poolsOf(3, ['default', 'minimal']);
    pools.fill();
    await settle();
    expect(pools.take('minimal')).toBeNull(); // none warm yet: the job goes cold, and counts
    expect(pools.take('default')?.image).toBe('default');
    expect(pools.take('minimal')).toBeNull();
    pools.fill();
    await settle();
    // Demand 1 : 2 over a budget of 3: one each, the rest to the more demanded.
    expect(pools.readyCount('default')).toBe(1);
    expect(pools.readyCount('minimal')).toBe(2);
    expect(pools.readyCount()).toBe(3);
    expect(discarded.map((item) => item.image)).toEqual(['default']);
    expect(pools.take('minimal')?.image).toBe('minimal');
  });

  it('goes back to the first image once the demand has aged out of the window', async () => {
    const { pools, advance } = poolsOf(2, ['default', 'minimal']);
    pools.take('minimal');
    pools.fill();
    await settle();
    expect(pools.readyCount('minimal')).toBe(2);
    advance(60_001);
    pools.fill();
    await settle();
    expect([pools.readyCount('default'), pools.readyCount('minimal')]).toEqual([2, 0]);
  });

  it('counts no demand for an image it has no pool for', async () => {
    const { pools } = poolsOf(2, ['default']);
    expect(pools.take('elsewhere')).toBeNull();
    pools.fill();
    await settle();
    expect(pools.readyCount('default')).toBe(2);
  });

  it('reports an image whose containers cannot be prepared, once per run of failures', async () => {
    const { pools, failures } = poolsOf(2, ['default', 'minimal'], new Set(['minimal']));
    pools.take('minimal');
    pools.take('default');
    pools.fill();
    await settle();
    pools.fill();
    await settle();
    expect(failures).toEqual(['minimal']);
    expect(pools.readyCount('default')).toBe(1);
  });

  it('discards every item on close', async () => {
    const { pools, discarded } = poolsOf(2, ['default', 'minimal']);
    pools.take('default');
    pools.take('minimal');
    pools.fill();
    await pools.close();
    expect(pools.readyCount()).toBe(0);
    expect(discarded.map((item) => item.image).sort()).toEqual(['default', 'minimal']);
  });
});
