import type { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { Redis } from 'ioredis';
import { DomainError } from '../errors/domain-error';
import { errorMessage } from '../errors/error-message';

/**
 * Cluster mode: the tenants' hit counts in Redis, so RATE_LIMIT_PER_MINUTE holds across
 * every instance, not per instance. Redis not answering is the 503 the rest of a submit
 * would meet anyway, not a 500.
 */
export class SharedRateLimitStorage implements ThrottlerStorage {
  private readonly counts: ThrottlerStorageRedisService;

  constructor(redis: Redis) {
    this.counts = new ThrottlerStorageRedisService(redis);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): ReturnType<ThrottlerStorage['increment']> {
    try {
      return await this.counts.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (error: unknown) {
      throw new DomainError(
        'QUEUE_UNAVAILABLE',
        `Redis, which counts the rate limits, did not answer: ${errorMessage(error)}`,
        { retryAfterS: 5 },
      );
    }
  }
}
