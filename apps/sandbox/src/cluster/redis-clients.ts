import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createRedisClient, pingRedis } from '@brain-net/messaging';
import { checkRedisLayout } from '@brain-net/store';
import { errorMessage } from '../errors/error-message';

/**
 * The Redis connections of an instance in cluster mode: one for commands (records, the
 * queue, publishing), one for subscriptions, and a factory for BullMQ's blocking worker
 * connections. The shutdown closes them last, after the executions have drained.
 */
export class RedisClients {
  private readonly logger = new Logger(RedisClients.name);
  readonly commands: Redis;
  readonly subscriber: Redis;
  private readonly made: Redis[] = [];

  constructor(
    readonly url: string,
    /** REDIS_KEY_PREFIX: the records' keys start with it. */
    readonly keyPrefix: string,
  ) {
    this.commands = this.track(createRedisClient(url, 'commands', 'sandbox-commands'));
    this.subscriber = this.track(createRedisClient(url, 'subscriber', 'sandbox-feed'));
  }

  /** A new connection for a BullMQ worker (it blocks on its own connection). */
  workerConnection(): Redis {
    return this.track(createRedisClient(this.url, 'worker', 'sandbox-worker'));
  }

  /**
   * Refuses to start on a Redis whose records another layout wrote. Redis away at start
   * is no reason to stay down: readiness is red until it answers.
   */
  async checkLayout(): Promise<void> {
    try {
      await checkRedisLayout(this.commands, this.keyPrefix);
    } catch (error: unknown) {
      const reachable = await pingRedis(this.commands, 1000).then(
        () => true,
        () => false,
      );
      if (reachable) throw error;
      this.logger.warn(`Redis does not answer yet: ${errorMessage(error)}`);
    }
  }

  async quit(): Promise<void> {
    await Promise.allSettled(this.made.map((client) => client.quit()));
  }

  private track(client: Redis): Redis {
    this.made.push(client);
    // Redis going away is expected now and then: the clients reconnect by themselves and
    // readiness says so; an unhandled 'error' event would end the process instead.
    let lastReported = 0;
    client.on('error', (error: unknown) => {
      if (Date.now() - lastReported < 10_000) return;
      lastReported = Date.now();
      this.logger.warn(`Redis: ${errorMessage(error)}`);
    });
    return client;
  }
}
