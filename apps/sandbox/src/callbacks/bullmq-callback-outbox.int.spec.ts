import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { BullmqCallbackQueue, createRedisClient } from '@brain-net/messaging';
import { startRedisServer, type RedisServer } from '@brain-net/testing';
import { BullmqCallbackOutbox } from './bullmq-callback-outbox';
import {
  CONTRACT_FIRST_LOOK_MS,
  CONTRACT_MAX_ATTEMPTS,
  CONTRACT_RETRY,
  callbackOutboxContract,
} from './testing/callback-outbox-contract';
import { retryDelayMs } from '../config/retry-delay';

describe('BullmqCallbackOutbox (a real redis-server)', () => {
  let server: RedisServer;
  let commands: Redis;
  let queues = 0;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    server = await startRedisServer();
    commands = createRedisClient(server.url, 'commands');
  });

  afterAll(async () => {
    await commands.quit();
    await server.destroy();
  });

  callbackOutboxContract((handler) => {
    const fail = (error: unknown) => {
      throw error;
    };
    const queue = new BullmqCallbackQueue({
      // A queue per spec: no spec sees another's jobs.
      queueName: `callbacks-${(queues += 1)}`,
      commands,
      workerConnection: () => createRedisClient(server.url, 'worker'),
      maxAttempts: CONTRACT_MAX_ATTEMPTS,
      retryDelayMs: (failedAttempts) => retryDelayMs(failedAttempts, CONTRACT_RETRY),
      concurrency: 4,
      keepEnded: 100,
      onError: fail,
    });
    const outbox = new BullmqCallbackOutbox(queue, handler.handle, CONTRACT_FIRST_LOOK_MS, fail);
    outbox.start();
    return Promise.resolve({
      outbox,
      stop: async () => {
        await outbox.stop();
        await outbox.close();
      },
    });
  });
});
