import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDatabase } from './sqlite-database';
import type { SqliteExecutionStore } from './sqlite-execution-store';
import { MB, T0, heavy, record } from './testing/execution-records';
import { openSqliteStore } from './testing/sqlite-store-fixtures';

/** The SQLite store on a file with records of 1 MB: seconds of disk, not a unit spec. */
describe('SqliteExecutionStore at scale', () => {
  let database: SqliteDatabase;
  let store: SqliteExecutionStore;

  beforeEach(() => ({ database, store } = openSqliteStore()));

  afterEach(() => database.close());

  describe('on a file, at scale', () => {
    let directory: string;
    let databasePath: string;

    beforeEach(() => {
      database.close();
      directory = mkdtempSync(join(tmpdir(), 'execution-store-'));
      databasePath = join(directory, 'sandbox.db');
    });

    afterEach(() => {
      database.close();
      rmSync(directory, { recursive: true, force: true });
    });

    const fileBytes = () => statSync(databasePath).size;

    it('closes 300 unfinished records with 1 MB inputs each', async () => {
      ({ database, store } = openSqliteStore({ databasePath, executionHistoryLimit: 1000 }));
      for (let i = 0; i < 300; i += 1) {
        const r = record(`e${i}`, i % 2 ? 'queued' : 'running', i);
        await store.create(r, { code: 'print(1)', inputJson: `"${'i'.repeat(MB - 2)}"` });
      }

      const started = performance.now();
      expect(await store.closeUnfinished(new Date(T0 + 10_000), 'restarted')).toBe(300);
      const ms = performance.now() - started;

      const page = await store.list(0, 300, null);
      expect(page.items.every((s) => s.status === 'failed' && s.error === 'restarted')).toBe(true);
      console.log(`closeUnfinished over 300 records with 1 MB inputs: ${ms.toFixed(0)} ms`);
    });

    it('lists 1,000 records of 1 MB bulky fields each as summaries', async () => {
      ({ database, store } = openSqliteStore({ databasePath, executionHistoryLimit: 1000 }));
      for (let i = 0; i < 1000; i += 1) {
        const { record: r, input } = heavy(`e${i}`, 'completed', i, MB);
        await store.create(r, input);
      }

      const started = performance.now();
      const page = await store.list(0, 100, null);
      const ms = performance.now() - started;

      expect(page.total).toBe(1000);
      expect(page.items.map((s) => s.id)).toEqual(
        Array.from({ length: 100 }, (_, i) => `e${999 - i}`),
      );
      expect(page.items[0]).not.toHaveProperty('stdout');
      console.log(
        `list(0, 100) over 1,000 records of 1 MB (stdout + input): ${ms.toFixed(1)} ms; ` +
          `file ${(fileBytes() / MB).toFixed(0)} MB`,
      );
    });

    it('holds the file near its budget, and gives pages back when the budget drops', async () => {
      ({ database, store } = openSqliteStore({
        databasePath,
        executionHistoryLimit: 1000,
        maxStoreBytes: 100 * MB,
      }));
      for (let i = 0; i < 1000; i += 1) {
        const { record: r, input } = heavy(`e${i}`, 'completed', i, MB);
        await store.create(r, input);
      }
      const atBudget = fileBytes();
      expect((await store.get('e0'))?.pruned).toBe(true);
      expect((await store.get('e999'))?.pruned).toBe(false);
      // Budget, one record in flight, and a few KB per row.
      expect(atBudget).toBeLessThan(100 * MB + MB + 1000 * 8 * 1024);
      database.close();

      ({ database, store } = openSqliteStore({
        databasePath,
        executionHistoryLimit: 1000,
        maxStoreBytes: 10 * MB,
      }));
      const afterCut = fileBytes();
      expect(afterCut).toBeLessThan(10 * MB + 1000 * 8 * 1024);
      expect((await store.list(0, 1000, null)).total).toBe(1000);
      console.log(
        `1,000 records of 1 MB: file ${(atBudget / MB).toFixed(1)} MB at a 100 MB budget, ` +
          `${(afterCut / MB).toFixed(1)} MB after reopening with 10 MB`,
      );
    });
  });
});
