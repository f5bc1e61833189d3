import { createRedisClient } from '@brain-net/messaging';
import { startRedisServer, type RedisServer } from '@brain-net/store/testing/redis-server';
import type { Redis } from 'ioredis';
import { DomainError } from '../errors/domain-error';
import { SharedRateLimitStorage } from './shared-rate-limit-storage';

const MINUTE_MS = 60_000;

/** Two instances' storages on one real Redis count one tenant's submits together. */
describe('SharedRateLimitStorage', () => {
  let redis: RedisServer;
  let clients: Redis[];

  beforeAll(async () => {
    redis = await startRedisServer();
    clients = [1, 2].map(() => createRedisClient(redis.url, 'commands'));
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.quit()));
    await redis.destroy();
  });

  it('counts the hits of every instance against one limit', async () => {
    const [a, b] = clients.map((client) => new SharedRateLimitStorage(client));
    const hits = [];
    for (let i = 0; i < 3; i += 1) {
      hits.push(await a.increment('tenant-x', MINUTE_MS, 5, MINUTE_MS, 'submits'));
      hits.push(await b.increment('tenant-x', MINUTE_MS, 5, MINUTE_MS, 'submits'));
    }
    expect(hits.map((hit) => hit.totalHits)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(hits.map((hit) => hit.isBlocked)).toEqual([false, false, false, false, false, true]);
    expect((await a.increment('tenant-y', MINUTE_MS, 5, MINUTE_MS, 'submits')).totalHits).toBe(1);
  });

  it('answers 503 QUEUE_UNAVAILABLE while Redis is away, and counts again once it is back', async () => {
    const storage = new SharedRateLimitStorage(clients[0]);
    await redis.stop();
    const refused = await storage
      .increment('tenant-z', MINUTE_MS, 5, MINUTE_MS, 'submits')
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'QUEUE_UNAVAILABLE', status: 503 });
    await redis.restart();
    await clients[0].ping();
    expect(
      (await storage.increment('tenant-z', MINUTE_MS, 5, MINUTE_MS, 'submits')).totalHits,
    ).toBe(1);
  });
});
