import { Module } from '@nestjs/common';
import { AdjustmentStore } from './adjustment-store';
import { SqliteAdjustmentStore } from './sqlite-adjustment-store';
import { SqliteDatabase } from './sqlite-database';
import { StoreOptions } from './store-options';
import { ConfigurableStoreModule, STORE_OPTIONS_TOKEN } from './store.module-definition';

/**
 * The SQLite database and the AdjustmentStore on it:
 * `StoreModule.forRoot(options)` or `StoreModule.forRootAsync({ inject, useFactory })`.
 * Which ExecutionStore the service uses (SqliteExecutionStore on this database, or
 * RedisExecutionStore) is the composition root's choice.
 */
@Module({
  providers: [
    // The adapters ask for StoreOptions by class, as every other options class is asked for.
    { provide: StoreOptions, useExisting: STORE_OPTIONS_TOKEN },
    SqliteDatabase,
    { provide: AdjustmentStore, useClass: SqliteAdjustmentStore },
  ],
  exports: [StoreOptions, SqliteDatabase, AdjustmentStore],
})
export class StoreModule extends ConfigurableStoreModule {}
