import { SqliteDatabase } from '../sqlite-database';
import { SqliteExecutionStore } from '../sqlite-execution-store';
import { StoreOptions } from '../store-options';
import { MB } from './execution-records';

/** A SQLite execution store for the specs: in memory unless `options` name a file. */
export function openSqliteStore(options: Partial<StoreOptions> = {}) {
  const all: StoreOptions = {
    databasePath: ':memory:',
    executionHistoryLimit: 10,
    maxStoreBytes: 1024 * MB,
    ...options,
  };
  const database = new SqliteDatabase(all);
  return { database, store: new SqliteExecutionStore(database, all) };
}
