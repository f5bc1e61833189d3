import { DynamicModule, InjectionToken, Module } from '@nestjs/common';
import { AdjustmentStore } from './adjustment-store';
import { ExecutionStore } from './execution-store';
import { SqliteAdjustmentStore } from './sqlite-adjustment-store';
import { SqliteDatabase } from './sqlite-database';
import { SqliteExecutionStore } from './sqlite-execution-store';
import { StoreOptions } from './store-options';

export interface StoreModuleAsyncOptions {
  readonly imports?: DynamicModule['imports'];
  readonly inject?: InjectionToken[];
  readonly useFactory: (...args: never[]) => StoreOptions;
}

/** Provides the ExecutionStore and AdjustmentStore ports, backed by one SQLite database. */
@Module({})
export class StoreModule {
  static forRootAsync(options: StoreModuleAsyncOptions): DynamicModule {
    return {
      module: StoreModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: StoreOptions, useFactory: options.useFactory, inject: options.inject ?? [] },
        SqliteDatabase,
        { provide: AdjustmentStore, useClass: SqliteAdjustmentStore },
        { provide: ExecutionStore, useClass: SqliteExecutionStore },
      ],
      exports: [AdjustmentStore, ExecutionStore],
    };
  }
}
