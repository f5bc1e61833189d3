import { Logger } from '@nestjs/common';
import { SqliteCallbackStore, SqliteDatabase } from '@brain-net/store';
import {
  CONTRACT_FIRST_LOOK_MS,
  CONTRACT_MAX_ATTEMPTS,
  CONTRACT_RETRY,
  callbackOutboxContract,
} from './testing/callback-outbox-contract';
import { SqliteCallbackOutbox } from './sqlite-callback-outbox';

describe('SqliteCallbackOutbox (a real in-memory SQLite database)', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  callbackOutboxContract((handler) => {
    const database = new SqliteDatabase({
      databasePath: ':memory:',
      executionHistoryLimit: 100,
      maxStoreBytes: 1024 * 1024,
    });
    const outbox = new SqliteCallbackOutbox(new SqliteCallbackStore(database), handler.handle, {
      maxAttempts: CONTRACT_MAX_ATTEMPTS,
      firstLookMs: CONTRACT_FIRST_LOOK_MS,
      ...CONTRACT_RETRY,
    });
    outbox.start();
    return Promise.resolve({
      outbox,
      stop: async () => {
        await outbox.stop();
        await outbox.close();
        database.close();
      },
    });
  });
});
