import { createRedisClient } from '@brain-net/messaging';
import { startRedisServer, type RedisServer } from '@brain-net/testing';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { ANONYMOUS_CALLER } from '../auth/caller';
import { DomainError } from '../errors/domain-error';
import type { QuotaOptions } from './quota-options';
import { SharedRateLimitStorage } from './shared-rate-limit-storage';
import { throttlerOptionsFor } from './tenant-rate-limit.guard';

const MINUTE_MS = 60_000;

/** The throttler TenantRateLimitGuard runs with RATE_LIMIT_PER_MINUTE=`perMinute`. */
function guardThrottler(perMinute: number): { ttl: number; limit: number; blockDuration: number } {
  const quota: QuotaOptions = {
    rateLimitPerMinute: perMinute,
    adjustmentRateLimitPerMinute: 0,
    callerOf: () => ANONYMOUS_CALLER,
  };
  const options = throttlerOptionsFor(quota);
  const throttlers = Array.isArray(options) ? options : options.throttlers;
  const throttler = throttlers.find(({ name }) => name === 'tenant-submits');
  if (!throttler) throw new Error('no tenant-submits throttler');
  return {
    ttl: Number(throttler.ttl),
    limit: Number(throttler.limit),
    blockDuration: Number(throttler.blockDuration),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

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

  it("refuses the guard's over-limit hit as the in-memory storage does, not with Redis's error", async () => {
    const { ttl, limit, blockDuration } = guardThrottler(3);
    expect(blockDuration).toBe(0);
    const [a, b] = clients.map((client) => new SharedRateLimitStorage(client));
    const memory = new ThrottlerStorageService();
    const shared: ThrottlerStorage[] = [a, b, a, b, a];
    const hits = [];
    for (const [i, storage] of shared.entries()) {
      const [redisHit, memoryHit] = await Promise.all([
        storage.increment('tenant-g', ttl, limit, blockDuration, 'tenant-submits'),
        memory.increment('tenant-g', ttl, limit, blockDuration, 'tenant-submits'),
      ]);
      expect([i, redisHit]).toEqual([i, memoryHit]);
      hits.push(redisHit);
    }
    memory.onApplicationShutdown();
    expect(hits.map((hit) => [hit.totalHits, hit.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
      [4, true],
    ]);
    // What the guard turns into Retry-After and RateLimit-Reset: the oldest hit's expiry.
    expect(hits[3]).toMatchObject({ timeToExpire: 60, timeToBlockExpire: 60 });
  });

  it('slides: a refused hit is not counted, and one place frees as the oldest hit expires', async () => {
    const storage = new SharedRateLimitStorage(clients[0]);
    const memory = new ThrottlerStorageService();
    const both = () =>
      Promise.all([
        storage.increment('tenant-s', 1500, 2, 0, 'tenant-submits'),
        memory.increment('tenant-s', 1500, 2, 0, 'tenant-submits'),
      ]);
    const seen = [];
    seen.push(await both());
    await sleep(700);
    seen.push(await both());
    seen.push(await both());
    await sleep(900);
    // The first hit expired, the second has not: one place, then refused again.
    seen.push(await both());
    seen.push(await both());
    memory.onApplicationShutdown();
    for (const [redisHit, memoryHit] of seen) {
      expect([redisHit.totalHits, redisHit.isBlocked]).toEqual([
        memoryHit.totalHits,
        memoryHit.isBlocked,
      ]);
    }
    expect(seen.map(([hit]) => hit.isBlocked)).toEqual([false, false, true, false, true]);
    expect(seen[2][0].timeToBlockExpire).toBe(1);
  });

  it('answers 503 QUEUE_UNAVAILABLE while Redis is away, and counts again once it is back', async () => {
    const storage = new SharedRateLimitStorage(clients[0]);
    const { ttl, limit, blockDuration } = guardThrottler(5);
    await redis.stop();
    const refused = await storage
      .increment('tenant-z', ttl, limit, blockDuration, 'submits')
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'QUEUE_UNAVAILABLE', status: 503 });
    await redis.restart();
    await clients[0].ping();
    expect(
      (await storage.increment('tenant-z', ttl, limit, blockDuration, 'submits')).totalHits,
    ).toBe(1);
  });
});
