import { randomUUID } from 'node:crypto';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { defineLuaCommands, parseRedisReply, readLua } from '@brain-net/store';
import { DomainError } from '../errors/domain-error';
import { errorMessage } from '../errors/error-message';

type ThrottlerRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** A sliding window without a block (see the file), as a method of the client. */
const RATE_LIMIT_COMMANDS = {
  brainNetRateLimitSlidingWindow: {
    numberOfKeys: 1,
    lua: readLua(__dirname, 'sliding-window.lua'),
  },
} as const;

/** The methods RATE_LIMIT_COMMANDS defines. */
interface RateLimitCommands {
  brainNetRateLimitSlidingWindow(
    windowKey: string,
    ttlMs: number,
    limit: number,
    hitId: string,
  ): Promise<unknown>;
}

/** sliding-window.lua: {counted hits, ms until the oldest expires, 1 if refused else 0}. */
const slidingWindowReplySchema = z.tuple([
  z.int().nonnegative(),
  z.int(),
  z.union([z.literal(0), z.literal(1)]),
]);

/**
 * Cluster mode: the tenants' hit counts in Redis, so RATE_LIMIT_PER_MINUTE holds across
 * every instance, not per instance, and answers as the in-memory storage of one instance
 * does. Redis not answering is the 503 the rest of a submit would meet anyway, not a 500.
 */
export class SharedRateLimitStorage implements ThrottlerStorage {
  private readonly counts: ThrottlerStorageRedisService;
  private readonly redis: Redis & RateLimitCommands;

  constructor(redis: Redis) {
    this.counts = new ThrottlerStorageRedisService(redis);
    this.redis = defineLuaCommands<RateLimitCommands>(redis, RATE_LIMIT_COMMANDS);
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
      // at 0 ("invalid expire time"): no block is our sliding window (sliding-window.lua).
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
    const reply = await this.redis.brainNetRateLimitSlidingWindow(key, ttl, limit, randomUUID());
    const source = `sliding-window.lua for ${key}`;
    const [hits, untilOldestMs, refused] = parseRedisReply(slidingWindowReplySchema, reply, source);
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
