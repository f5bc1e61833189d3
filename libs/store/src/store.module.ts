import { Module } from '@nestjs/common';
import { AdjustmentStore } from './adjustment-store';
import { ExecutionStore } from './execution-store';
import { SqliteAdjustmentStore } from './sqlite-adjustment-store';
import { SqliteDatabase } from './sqlite-database';
import { SqliteExecutionStore } from './sqlite-execution-store';
import { RedisExecutionStore } from './redis-execution-store';
import { StoreOptions } from './store-options';
import { ConfigurableStoreModule, STORE_OPTIONS_TOKEN } from './store.module-definition';

/**
 * Provides the ExecutionStore and AdjustmentStore ports, backed by one SQLite database
 * (executions in Redis when `redis` is given):
 * `StoreModule.forRoot(options)` or `StoreModule.forRootAsync({ inject, useFactory })`.
 */
@Module({
  providers: [
    // The adapters ask for StoreOptions by class, as every other options class is asked for.
    { provide: StoreOptions, useExisting: STORE_OPTIONS_TOKEN },
    SqliteDatabase,
    { provide: AdjustmentStore, useClass: SqliteAdjustmentStore },
    {
      provide: ExecutionStore,
      inject: [StoreOptions, SqliteDatabase],
      useFactory: (options: StoreOptions, database: SqliteDatabase): ExecutionStore =>
        options.redis
          ? new RedisExecutionStore(options.redis.client, {
              keyPrefix: options.redis.keyPrefix,
              executionHistoryLimit: options.executionHistoryLimit,
            })
          : new SqliteExecutionStore(database, options),
    },
  ],
  exports: [AdjustmentStore, ExecutionStore],
})
export class StoreModule extends ConfigurableStoreModule {}
