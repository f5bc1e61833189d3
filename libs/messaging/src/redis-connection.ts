import { Redis, type RedisOptions } from 'ioredis';

/**
 * What a connection is for; each needs other settings.
 * - commands: requests of the HTTP path and of the feed; they must fail fast while
 *   Redis is down, not hang the request that waits for them.
 * - subscriber: the one pub/sub connection of an instance (a subscribed connection
 *   serves nothing else).
 * - worker: the template of a BullMQ Worker's connections; BullMQ requires
 *   `maxRetriesPerRequest: null` for its blocking commands and refuses the client
 *   otherwise.
 */
export type RedisConnectionPurpose = 'commands' | 'subscriber' | 'worker';

/** How long a command waits for its reply before it rejects. */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;
/** Longest pause between two reconnection attempts: we never give up reconnecting. */
export const REDIS_MAX_RECONNECT_DELAY_MS = 2000;

/** Exponential backoff from 100 ms, capped; never null, so ioredis keeps trying forever. */
export function redisReconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.max(0, attempt - 1), REDIS_MAX_RECONNECT_DELAY_MS);
}

/**
 * A new ioredis client for `url` (redis://…), connecting at once. The caller owns it:
 * it should listen to its 'error' event (ioredis only prints unhandled ones) and quit it
 * on shutdown.
 */
export function createRedisClient(
  url: string,
  purpose: RedisConnectionPurpose,
  name?: string,
): Redis {
  const common: RedisOptions = {
    // Shows up in CLIENT LIST, to tell an instance's connections apart when debugging.
    connectionName: name ?? `brain-net:${purpose}`,
    retryStrategy: redisReconnectDelayMs,
  };
  switch (purpose) {
    case 'commands':
    case 'subscriber':
      // A command issued while Redis is down rejects after one failed reconnection
      // attempt or the timeout, whichever comes first; the connection itself keeps
      // reconnecting (and a subscriber resubscribes its channels when it is back).
      return new Redis(url, {
        ...common,
        maxRetriesPerRequest: 1,
        commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      });
    case 'worker':
      // No commandTimeout: it would cut BullMQ's blocking fetch short.
      return new Redis(url, { ...common, maxRetriesPerRequest: null });
  }
}

/** Resolves when Redis answers PING within `timeoutMs`; rejects with a clear Error otherwise. */
export async function pingRedis(redis: Redis, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Redis did not answer PING within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const ping = redis.ping().then(
    () => undefined,
    (error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Redis PING failed: ${reason}`, { cause: error });
    },
  );
  // The loser of the race settles later; a rejection there must not go unhandled.
  ping.catch(() => undefined);
  try {
    await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
