import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AdjustmentStore } from './adjustment-store';
import { ExecutionStore } from './execution-store';
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

/** Uses the stores without importing StoreModule: it is global. */
@Injectable()
class Consumer {
  constructor(
    readonly executions: ExecutionStore,
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
    expect(consumer.executions).toBeInstanceOf(SqliteExecutionStore);
    expect(consumer.adjustments.countByStatus()).toEqual({ pending: 0, delivered: 0, failed: 0 });
    expect(moduleRef.get(StoreOptions)).toBe(OPTIONS);

    const connection = moduleRef.get(SqliteDatabase).connection;
    await moduleRef.close();
    expect(connection.open).toBe(false);
  });

  it('takes options as they are, too', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [StoreModule.forRoot(OPTIONS)],
    }).compile();
    expect(await moduleRef.get(ExecutionStore).list(0, 10, null)).toEqual({ items: [], total: 0 });
    await moduleRef.close();
  });
});
