import { WarmPool } from './warm-pool';

interface Item {
  readonly id: number;
  usable: boolean;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function poolOf(size: number, options: { failPrepare?: () => boolean } = {}) {
  let next = 0;
  const discarded: number[] = [];
  const failures: unknown[] = [];
  const pool = new WarmPool<Item>(size, {
    prepare: () =>
      options.failPrepare?.()
        ? Promise.reject(new Error('engine down'))
        : Promise.resolve({ id: next++, usable: true }),
    isUsable: (item) => item.usable,
    discard: (item) => {
      discarded.push(item.id);
      return Promise.resolve();
    },
    onPrepareFailed: (error) => failures.push(error),
  });
  return { pool, discarded, failures };
}

describe('WarmPool', () => {
  it('prepares up to its size and hands each item out once', async () => {
    const { pool } = poolOf(2);
    pool.fill();
    await settle();
    expect(pool.readyCount).toBe(2);
    expect(pool.take()?.id).toBe(0);
    expect(pool.take()?.id).toBe(1);
    expect(pool.take()).toBeNull();
  });

  it('refills what was taken, and no more', async () => {
    const { pool } = poolOf(2);
    pool.fill();
    await settle();
    pool.take();
    pool.fill();
    pool.fill();
    await settle();
    expect(pool.readyCount).toBe(2);
  });

  it('discards an item that died while it waited and hands out the next', async () => {
    const items: Item[] = [];
    const discarded: number[] = [];
    const pool = new WarmPool<Item>(2, {
      prepare: () => {
        const item = { id: items.length, usable: true };
        items.push(item);
        return Promise.resolve(item);
      },
      isUsable: (item) => item.usable,
      discard: (item) => {
        discarded.push(item.id);
        return Promise.resolve();
      },
      onPrepareFailed: () => undefined,
    });
    pool.fill();
    await settle();
    items[0].usable = false;
    expect(pool.take()?.id).toBe(1);
    expect(discarded).toEqual([0]);
  });

  it('reports a run of failures once and stops trying until the next fill', async () => {
    let failing = true;
    const { pool, failures } = poolOf(3, { failPrepare: () => failing });
    pool.fill();
    await settle();
    pool.fill();
    await settle();
    expect(failures).toHaveLength(1);
    expect(pool.readyCount).toBe(0);

    failing = false;
    pool.fill();
    await settle();
    pool.fill();
    await settle();
    expect(pool.readyCount).toBe(3);
  });

  it('discards the ready items a smaller size leaves over, and those prepared past it', async () => {
    const { pool, discarded } = poolOf(3);
    pool.fill();
    await settle();
    pool.resize(1);
    expect(pool.readyCount).toBe(1);
    expect(discarded).toEqual([0, 1]);
    expect(pool.take()?.id).toBe(2);

    pool.resize(2);
    pool.fill(); // two on their way
    pool.resize(1);
    await settle();
    expect(pool.readyCount).toBe(1);
    expect(discarded).toEqual([0, 1, 4]);
  });

  it('discards everything on close, including items still being prepared', async () => {
    const { pool, discarded } = poolOf(2);
    pool.fill();
    await settle();
    pool.take();
    pool.fill(); // one more on its way
    await pool.close();
    expect(pool.readyCount).toBe(0);
    expect(discarded.sort()).toEqual([1, 2]);
    pool.fill();
    await settle();
    expect(pool.readyCount).toBe(0);
  });
});
