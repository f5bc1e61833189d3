import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createRedisClient } from '@brain-net/messaging';
import { errorMessage } from '../errors/error-message';

/**
 * The Redis connections of an instance in cluster mode: one for commands (records, the
 * queue, publishing), one for subscriptions, and a factory for BullMQ's blocking worker
 * connections. ClusterModule closes them last, after the executions have drained.
 */
export class RedisClients {
  private readonly logger = new Logger(RedisClients.name);
  readonly commands: Redis;
  readonly subscriber: Redis;
  private readonly made: Redis[] = [];

  constructor(readonly url: string) {
    this.commands = this.track(createRedisClient(url, 'commands', 'sandbox-commands'));
    this.subscriber = this.track(createRedisClient(url, 'subscriber', 'sandbox-feed'));
  }

  /** A new connection for a BullMQ worker (it blocks on its own connection). */
  workerConnection(): Redis {
    return this.track(createRedisClient(this.url, 'worker', 'sandbox-worker'));
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
