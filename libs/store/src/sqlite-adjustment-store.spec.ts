import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdjustmentRecord } from './adjustment-store';
import { SqliteDatabase } from './sqlite-database';
import { SqliteAdjustmentStore } from './sqlite-adjustment-store';

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

function pending(id: string, createdAfterMs = 0): AdjustmentRecord {
  return {
    id,
    tenant: 'tenant-a',
    createdBy: 'key-a',
    processorId: 'processor-123',
    // Spaced, a number spelled 2.50: kept as it came, not as JSON.stringify would write it.
    adjustments:
      '{ "parameter_x": "new_value", "nested": {"list": [1, 2.50, null], "flag": true} }',
    reason: 'Performance improvement based on execution results',
    executionId: null,
    status: 'pending',
    attempts: 0,
    lastError: null,
    createdAt: at(createdAfterMs),
    updatedAt: at(createdAfterMs),
    nextAttemptAt: at(createdAfterMs),
    deliveredAt: null,
  };
}

describe('SqliteAdjustmentStore', () => {
  let database: SqliteDatabase;
  let store: SqliteAdjustmentStore;

  beforeEach(() => {
    database = new SqliteDatabase({
      databasePath: ':memory:',
      executionHistoryLimit: 100,
      maxStoreBytes: 1024 * 1024 * 1024,
    });
    store = new SqliteAdjustmentStore(database);
  });

  afterEach(() => database.close());

  it('lists one tenant’s adjustments, or every tenant’s', () => {
    store.insert(pending('a', 0));
    store.insert({ ...pending('b', 1), tenant: 'tenant-b', createdBy: 'key-b' });
    expect(store.list(0, 10, 'tenant-a').items.map((item) => item.id)).toEqual(['a']);
    expect(store.list(0, 10, 'tenant-b')).toMatchObject({ total: 1, items: [{ id: 'b' }] });
    expect(store.list(0, 10, null).total).toBe(2);
  });

  it('gives back what was inserted, JSON and times included', () => {
    const record = { ...pending('a'), executionId: 'execution-1' };
    store.insert(record);
    expect(store.get('a')).toEqual(record);
    expect(store.get('unknown')).toBeUndefined();
  });

  it('updates the delivery state and keeps the rest', () => {
    store.insert(pending('a'));
    const delivered: AdjustmentRecord = {
      ...pending('a'),
      status: 'delivered',
      attempts: 2,
      lastError: 'POST /x answered 503',
      updatedAt: at(500),
      nextAttemptAt: null,
      deliveredAt: at(500),
    };
    store.update(delivered);
    expect(store.get('a')).toEqual(delivered);
  });

  it('refuses a second record with the same id', () => {
    store.insert(pending('a'));
    expect(() => store.insert(pending('a'))).toThrow(/UNIQUE/);
  });

  it('lists newest first, a page at a time, with the total', () => {
    ['a', 'b', 'c', 'd'].forEach((id, i) => store.insert(pending(id, i)));
    // Same millisecond: the later insert is the newer.
    store.insert(pending('e', 3));

    const first = store.list(0, 2, null);
    expect(first.items.map((r) => r.id)).toEqual(['e', 'd']);
    expect(first.total).toBe(5);
    expect(store.list(2, 2, null).items.map((r) => r.id)).toEqual(['c', 'b']);
    expect(store.list(4, 2, null).items.map((r) => r.id)).toEqual(['a']);
  });

  it('finds pending adjustments that are due, oldest first, up to the limit', () => {
    store.insert({ ...pending('later'), nextAttemptAt: at(10_000) });
    store.insert(pending('old', 0));
    store.insert(pending('young', 5));
    store.insert({ ...pending('done', 1), status: 'delivered', nextAttemptAt: null });
    store.insert({ ...pending('given-up', 2), status: 'failed', nextAttemptAt: null });

    expect(store.due(at(5), 10).map((r) => r.id)).toEqual(['old', 'young']);
    expect(store.due(at(5), 1).map((r) => r.id)).toEqual(['old']);
    expect(store.due(at(4), 10).map((r) => r.id)).toEqual(['old']);
    expect(store.due(at(10_000), 10).map((r) => r.id)).toEqual(['later', 'old', 'young']);
  });

  it('keeps adjustments byte for byte, keys such as __proto__ and constructor included', () => {
    const text =
      '{"constructor": 1, "__proto__": {"x": 1}, "toString": "a", "big": 12345678901234567890}';
    store.insert({ ...pending('a'), adjustments: text });
    expect(store.get('a')?.adjustments).toBe(text);
    expect(store.list(0, 1, 'tenant-a').items[0].adjustments).toBe(text);
  });

  it("counts one tenant's pending adjustments only, in an index alone", () => {
    store.insert(pending('a'));
    store.insert(pending('b'));
    store.insert({ ...pending('c'), status: 'delivered', nextAttemptAt: null });
    store.insert({ ...pending('d'), status: 'failed', nextAttemptAt: null });
    store.insert({ ...pending('e'), tenant: 'tenant-b' });
    expect(store.countPending('tenant-a')).toBe(2);
    expect(store.countPending('tenant-b')).toBe(1);
    expect(store.countPending('tenant-c')).toBe(0);
    const plan = database.connection
      .prepare<[string], { detail: string }>(
        `EXPLAIN QUERY PLAN SELECT COUNT(*) AS total FROM adjustments
         WHERE tenant = ? AND status = 'pending'`,
      )
      .all('tenant-a')
      .map((step) => step.detail);
    expect(plan).toEqual([expect.stringMatching(/COVERING INDEX adjustments_pending_by_tenant/)]);
  });

  it("lists one tenant's page by an index, reading no other tenant's rows", () => {
    // Bulky rows of another tenant: a scan of them would read megabytes.
    const bulky = `{"blob": "${'x'.repeat(200 * 1024)}"}`;
    for (let i = 0; i < 60; i += 1) {
      store.insert({ ...pending(`big-${i}`, i), tenant: 'tenant-big', adjustments: bulky });
    }
    store.insert(pending('mine', 100));
    for (const sql of [
      `SELECT * FROM adjustments WHERE tenant = 'tenant-a'
       ORDER BY created_at DESC, rowid DESC LIMIT 10 OFFSET 0`,
      'SELECT COUNT(*) AS total FROM adjustments WHERE tenant = ?',
    ]) {
      const plan = database.connection
        .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...(sql.includes('?') ? ['tenant-a'] : []))
        .map((step) => step.detail);
      expect(plan.join('\n')).toMatch(/INDEX adjustments_by_tenant/);
      expect(plan.join('\n')).not.toMatch(/TEMP B-TREE|SCAN adjustments/);
    }
    const started = performance.now();
    expect(store.list(0, 10, 'tenant-a')).toMatchObject({ total: 1, items: [{ id: 'mine' }] });
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('counts adjustments by status, zero included', () => {
    expect(store.countByStatus()).toEqual({ pending: 0, delivered: 0, failed: 0 });
    store.insert(pending('a'));
    store.insert(pending('b'));
    store.insert({ ...pending('c'), status: 'failed', nextAttemptAt: null });
    expect(store.countByStatus()).toEqual({ pending: 2, delivered: 0, failed: 1 });
  });

  describe('on a file', () => {
    let directory: string;

    beforeEach(() => {
      directory = mkdtempSync(join(tmpdir(), 'adjustment-store-'));
    });

    afterEach(() => rmSync(directory, { recursive: true, force: true }));

    it('creates the missing directory, and keeps records across reopening', () => {
      const databasePath = join(directory, 'not', 'yet', 'there.db');
      const first = new SqliteDatabase({
        databasePath,
        executionHistoryLimit: 100,
        maxStoreBytes: 1024 * 1024 * 1024,
      });
      new SqliteAdjustmentStore(first).insert(pending('a'));
      first.close();

      const second = new SqliteDatabase({
        databasePath,
        executionHistoryLimit: 100,
        maxStoreBytes: 1024 * 1024 * 1024,
      });
      expect(new SqliteAdjustmentStore(second).get('a')).toEqual(pending('a'));
      second.close();
    });
  });
});
