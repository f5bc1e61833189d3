import { DynamicModule, InjectionToken, Module } from '@nestjs/common';
import { AdjustmentStore } from './adjustment-store';
import { SqliteAdjustmentStore } from './sqlite-adjustment-store';
import { StoreOptions } from './store-options';

export interface StoreModuleAsyncOptions {
  readonly imports?: DynamicModule['imports'];
  readonly inject?: InjectionToken[];
  readonly useFactory: (...args: never[]) => StoreOptions;
}

/** Provides the AdjustmentStore port, backed by SQLite. */
@Module({})
export class StoreModule {
  static forRootAsync(options: StoreModuleAsyncOptions): DynamicModule {
    return {
      module: StoreModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: StoreOptions, useFactory: options.useFactory, inject: options.inject ?? [] },
        { provide: AdjustmentStore, useClass: SqliteAdjustmentStore },
      ],
      exports: [AdjustmentStore],
    };
  }
}
