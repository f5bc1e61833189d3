import { WarmItemDiedError, WarmPool } from './warm-pool';

interface Item {
  readonly id: number;
  usable: boolean;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A pool whose preparations settle only when the spec says so. */
function manualPoolOf(size: number) {
  const pending: { resolve(item: Item): void; reject(error: Error): void }[] = [];
  const discarded: number[] = [];
  const failures: unknown[] = [];
  let attempts = 0;
  const pool = new WarmPool<Item>(size, {
    prepare: () => {
      attempts += 1;
      return new Promise<Item>((resolve, reject) => pending.push({ resolve, reject }));
    },
    isUsable: (item) => item.usable,
    discard: (item) => {
      discarded.push(item.id);
      return Promise.resolve();
    },
    onPrepareFailed: (error) => failures.push(error),
  });
  return { pool, pending, discarded, failures, attempts: () => attempts };
}

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
    expect((await pool.take())?.id).toBe(0);
    expect((await pool.take())?.id).toBe(1);
    expect(pool.take()).toBeNull();
  });

  it('refills what was taken, and no more', async () => {
    const { pool } = poolOf(2);
    pool.fill();
    await settle();
    await pool.take();
    expect(pool.fill()).toBe(1);
    expect(pool.fill()).toBe(0);
    await settle();
    expect(pool.readyCount).toBe(2);
  });

  it('starts no more than the room it is given', async () => {
    const { pool } = poolOf(3);
    expect(pool.fill(2)).toBe(2);
    expect(pool.fill(0)).toBe(0);
    await settle();
    expect(pool.readyCount).toBe(2);
  });

  it('discards an item that died while it waited and hands out the next', async () => {
    const { pool, pending, discarded } = manualPoolOf(2);
    pool.fill();
    pending[0].resolve({ id: 0, usable: false });
    pending[1].resolve({ id: 1, usable: true });
    await settle();
    expect((await pool.take())?.id).toBe(1);
    expect(discarded).toEqual([0]);
  });

  it('lets a taker claim the oldest preparation under way, which then never joins the ready list', async () => {
    const { pool, pending } = manualPoolOf(2);
    pool.fill();
    expect(pool.heldCount).toBe(2);
    const claimed = pool.take();
    expect(claimed).not.toBeNull();
    expect(pool.heldCount).toBe(1);
    const second = pool.take();
    expect(pool.take()).toBeNull(); // both claimed
    pending[1].resolve({ id: 11, usable: true });
    pending[0].resolve({ id: 10, usable: true });
    expect((await claimed)?.id).toBe(10);
    expect((await second)?.id).toBe(11);
    expect(pool.readyCount).toBe(0);
  });

  it('replaces a claimed preparation at the next fill', () => {
    const { pool, attempts } = manualPoolOf(2);
    pool.fill();
    void pool.take();
    pool.fill();
    expect(attempts()).toBe(3);
    expect(pool.heldCount).toBe(2);
  });

  it('rejects to the taker alone when its claimed preparation fails, and backs off as usual', async () => {
    const { pool, pending, failures, attempts } = manualPoolOf(2);
    pool.fill();
    const claimed = pool.take();
    const error = new Error('engine down');
    pending[0].reject(error);
    await expect(claimed).rejects.toBe(error);
    expect(failures).toEqual([error]);
    // The unclaimed one is untouched and still on its way; the failing pool tries once.
    pool.fill();
    expect(attempts()).toBe(3);
    pending[2].reject(new Error('still down'));
    pending[1].resolve({ id: 1, usable: true });
    await settle();
    expect(failures).toHaveLength(1);
    expect(pool.readyCount).toBe(1);
  });

  it('rejects to the taker and discards a claimed item that arrives dead', async () => {
    const { pool, pending, discarded } = manualPoolOf(1);
    pool.fill();
    const claimed = pool.take();
    pending[0].resolve({ id: 7, usable: false });
    await expect(claimed).rejects.toBeInstanceOf(WarmItemDiedError);
    await settle();
    expect(discarded).toEqual([7]);
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

  it('discards the ready items a smaller size leaves over, the oldest first', async () => {
    const { pool, discarded } = poolOf(3);
    pool.fill();
    await settle();
    pool.resize(1);
    expect(pool.readyCount).toBe(1);
    expect(discarded).toEqual([0, 1]);
    expect((await pool.take())?.id).toBe(2);
  });

  it('lets preparations under way go on after a resize, and discards those with no room once ready', async () => {
    const { pool, pending, discarded } = manualPoolOf(3);
    pool.fill();
    pool.resize(1);
    const claimed = pool.take();
    pending.forEach((preparation, id) => preparation.resolve({ id, usable: true }));
    await settle();
    expect((await claimed)?.id).toBe(0);
    // Of the two unclaimed, the first fills the one place; the second is not wanted.
    expect(discarded).toEqual([2]);
    expect(pool.readyCount).toBe(1);
  });

  it('discards everything on close, including items still being prepared', async () => {
    const { pool, discarded } = poolOf(2);
    pool.fill();
    await settle();
    await pool.take();
    pool.fill(); // one more on its way
    await pool.close();
    expect(pool.readyCount).toBe(0);
    expect(discarded.sort()).toEqual([1, 2]);
    pool.fill();
    await settle();
    expect(pool.readyCount).toBe(0);
  });

  it('still hands a claimed preparation to its taker when closed meanwhile', async () => {
    const { pool, pending, discarded } = manualPoolOf(1);
    pool.fill();
    const claimed = pool.take();
    const closed = pool.close();
    pending[0].resolve({ id: 3, usable: true });
    await closed;
    expect((await claimed)?.id).toBe(3);
    expect(discarded).toEqual([]);
  });
});
