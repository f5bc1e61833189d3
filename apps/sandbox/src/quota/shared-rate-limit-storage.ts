import { randomUUID } from 'node:crypto';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { Redis } from 'ioredis';
import { DomainError } from '../errors/domain-error';
import { errorMessage } from '../errors/error-message';

type ThrottlerRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * A sliding window without a block, as @nestjs/throttler's in-memory storage keeps one
 * for blockDuration 0: a sorted set of the counted hits' expiry times (Redis's clock,
 * so instances' clocks do not matter). A refused hit is not counted; it may go on once
 * the oldest counted hit expires. Returns [counted hits, ms until the oldest expires, refused].
 */
const SLIDING_WINDOW_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local hits = redis.call('ZCARD', KEYS[1])
local refused = 0
if hits >= tonumber(ARGV[2]) then
  refused = 1
else
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ttl)
  hits = hits + 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local untilOldest = ttl
if oldest[2] then untilOldest = tonumber(oldest[2]) - now end
return { hits, untilOldest, refused }
`;

/**
 * Cluster mode: the tenants' hit counts in Redis, so RATE_LIMIT_PER_MINUTE holds across
 * every instance, not per instance, and answers as the in-memory storage of one instance
 * does. Redis not answering is the 503 the rest of a submit would meet anyway, not a 500.
 */
export class SharedRateLimitStorage implements ThrottlerStorage {
  private readonly counts: ThrottlerStorageRedisService;

  constructor(private readonly redis: Redis) {
    this.counts = new ThrottlerStorageRedisService(redis);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerRecord> {
    try {
      // The library's script sets its block key for blockDuration, which Redis refuses
      // at 0 ("invalid expire time"): no block is the sliding window above.
      return blockDuration > 0
        ? await this.counts.increment(key, ttl, limit, blockDuration, throttlerName)
        : await this.slidingWindow(`{${key}:${throttlerName}}:window`, ttl, limit);
    } catch (error: unknown) {
      throw new DomainError(
        'QUEUE_UNAVAILABLE',
        `Redis, which counts the rate limits, did not answer: ${errorMessage(error)}`,
        { retryAfterS: 5 },
      );
    }
  }

  private async slidingWindow(key: string, ttl: number, limit: number): Promise<ThrottlerRecord> {
    const reply = await this.redis.eval(SLIDING_WINDOW_SCRIPT, 1, key, ttl, limit, randomUUID());
    const [hits, untilOldestMs, refused] = reply as [number, number, number];
    const untilOldestS = Math.ceil(untilOldestMs / 1000);
    // As the in-memory storage: a refused hit shows as one over the limit.
    return {
      totalHits: hits + refused,
      timeToExpire: untilOldestS,
      isBlocked: refused === 1,
      timeToBlockExpire: refused === 1 ? untilOldestS : 0,
    };
  }
}
