import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AdjustmentStore } from './adjustment-store';
import { SqliteDatabase } from './sqlite-database';
import { SqliteExecutionStore } from './sqlite-execution-store';
import { StoreOptions } from './store-options';
import { StoreModule } from './store.module';

const OPTIONS: StoreOptions = {
  databasePath: ':memory:',
  executionHistoryLimit: 10,
  maxStoreBytes: 1024 * 1024,
};

@Injectable()
class Settings {
  readonly store = OPTIONS;
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

/** Uses what StoreModule provides without importing it: it is global unless told otherwise. */
@Injectable()
class Consumer {
  constructor(
    readonly database: SqliteDatabase,
    readonly adjustments: AdjustmentStore,
  ) {}
}

@Module({ providers: [Consumer] })
class ConsumerModule {}

describe('StoreModule', () => {
  it('builds the stores from options a factory gives, for every module', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        StoreModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings): StoreOptions => settings.store,
        }),
        ConsumerModule,
      ],
    }).compile();

    const consumer = moduleRef.get(Consumer);
    expect(consumer.database).toBe(moduleRef.get(SqliteDatabase));
    expect(consumer.adjustments.countByStatus()).toEqual({ pending: 0, delivered: 0, failed: 0 });
    expect(moduleRef.get(StoreOptions)).toBe(OPTIONS);

    // Closed by its owner's shutdown (the service's ServiceLifecycle), not by the module.
    const database = moduleRef.get(SqliteDatabase);
    await moduleRef.close();
    expect(database.connection.open).toBe(true);
    database.close();
    expect(database.connection.open).toBe(false);
  });

  it('takes options as they are, too, and an SQLite execution store can be built on it', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [StoreModule.forRoot(OPTIONS)],
    }).compile();
    const executions = new SqliteExecutionStore(
      moduleRef.get(SqliteDatabase),
      moduleRef.get(StoreOptions),
    );
    expect(await executions.list(0, 10, null)).toEqual({ items: [], total: 0 });
    await moduleRef.close();
  });
});
