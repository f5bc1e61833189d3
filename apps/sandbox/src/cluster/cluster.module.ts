import {
  Global,
  Inject,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { checkRedisLayout } from '@brain-net/store';
import {
  BullmqExecutionQueue,
  ExecutionFeed,
  ExecutionQueue,
  LocalExecutionFeed,
  RedisExecutionFeed,
  pingRedis,
} from '@brain-net/messaging';
import { AppConfig } from '../config/app-config';
import { errorMessage, stackOf } from '../errors/error-message';
import { InProcessExecutionQueue } from '../execution/in-process-execution-queue';
import { RedisClients } from './redis-clients';

/** BullMQ's queue of executions; its wait list is `bull:sandbox-executions:wait`. */
export const EXECUTION_QUEUE_NAME = 'sandbox-executions';
/** How often workers look for jobs whose worker was lost. */
const STALLED_CHECK_MS = 5_000;

/**
 * How executions travel between instances: with REDIS_URL, a BullMQ queue and a Redis
 * feed; without, an in-process queue and feed. Everything else sees only the ports.
 */
@Global()
@Module({
  providers: [
    {
      provide: RedisClients,
      inject: [AppConfig],
      useFactory: (config: AppConfig): RedisClients | null =>
        config.redis ? new RedisClients(config.redis.url) : null,
    },
    {
      provide: ExecutionQueue,
      inject: [AppConfig, RedisClients],
      useFactory: (config: AppConfig, redis: RedisClients | null): ExecutionQueue => {
        const logger = new Logger('ExecutionQueue');
        if (!config.redis || !redis) {
          return new InProcessExecutionQueue(
            {
              maxRunning: config.maxConcurrentExecutions,
              maxQueued: config.maxQueuedExecutions,
              maxRunningPerTenant: config.maxConcurrentPerTenant,
              maxQueuedPerTenant: config.maxQueuedPerTenant,
            },
            (error: unknown) =>
              logger.error('an execution task failed unexpectedly', stackOf(error)),
          );
        }
        return new BullmqExecutionQueue({
          queueName: EXECUTION_QUEUE_NAME,
          commands: redis.commands,
          workerConnection: () => redis.workerConnection(),
          concurrency: config.maxConcurrentExecutions,
          maxWaiting: config.maxQueuedExecutions,
          maxWaitingPerTenant: config.maxQueuedPerTenant,
          lockMs: config.redis.workerLostAfterMs,
          stalledCheckMs: Math.min(STALLED_CHECK_MS, config.redis.workerLostAfterMs),
          onError: (error: unknown) => logger.warn(`queue: ${errorMessage(error)}`),
        });
      },
    },
    {
      provide: ExecutionFeed,
      inject: [AppConfig, RedisClients],
      useFactory: (config: AppConfig, redis: RedisClients | null): ExecutionFeed =>
        config.redis && redis
          ? new RedisExecutionFeed(redis.commands, redis.subscriber, {
              keyPrefix: config.redis.keyPrefix,
            })
          : new LocalExecutionFeed(),
    },
  ],
  exports: [RedisClients, ExecutionQueue, ExecutionFeed],
})
export class ClusterModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ClusterModule.name);

  constructor(
    private readonly config: AppConfig,
    private readonly queue: ExecutionQueue,
    private readonly feed: ExecutionFeed,
    @Inject(RedisClients) private readonly redis: RedisClients | null,
  ) {}

  /**
   * Refuses to start on a Redis whose records another layout wrote. Redis away at start
   * is no reason to stay down: readiness is red until it answers.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.redis || !this.config.redis) return;
    try {
      await checkRedisLayout(this.redis.commands, this.config.redis.keyPrefix);
    } catch (error: unknown) {
      const reachable = await pingRedis(this.redis.commands, 1000).then(
        () => true,
        () => false,
      );
      if (reachable) throw error;
      this.logger.warn(`Redis does not answer yet: ${errorMessage(error)}`);
    }
  }

  /** After the executions drained (beforeApplicationShutdown): the worker, the feed, then Redis. */
  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
    await this.feed.close();
    await this.redis?.quit();
  }
}
