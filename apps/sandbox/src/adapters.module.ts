import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DynamicModule, Logger, Module, Provider } from '@nestjs/common';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { BackendClient, BackendClientModule } from '@brain-net/backend-client';
import {
  BullmqAdjustmentQueue,
  BullmqExecutionQueue,
  ExecutionFeed,
  ExecutionQueue,
  LocalExecutionFeed,
  RedisExecutionFeed,
} from '@brain-net/messaging';
import { RunnerModule } from '@brain-net/runner';
import {
  AdjustmentStore,
  ExecutionStore,
  FileStore,
  LocalFileStore,
  RedisExecutionStore,
  RedisFileStore,
  SqliteDatabase,
  SqliteExecutionStore,
  StoreModule,
  StoreOptions,
} from '@brain-net/store';
import {
  AdjustmentDeliveryService,
  MAX_PARALLEL_DELIVERIES,
} from './adjustment/adjustment-delivery.service';
import { AdjustmentOutbox } from './adjustment/adjustment-outbox';
import { BullmqAdjustmentOutbox } from './adjustment/bullmq-adjustment-outbox';
import { retryDelayMs } from './adjustment/retry-delay';
import { SqliteAdjustmentOutbox } from './adjustment/sqlite-adjustment-outbox';
import { RedisClients } from './cluster/redis-clients';
import { AppConfig, RedisSettings } from './config/app-config';
import { errorMessage, stackOf } from './errors/error-message';
import { InProcessExecutionQueue } from './execution/in-process-execution-queue';
import { MetricsModule } from './metrics/metrics.module';
import { MetricsService } from './metrics/metrics.service';
import { SharedRateLimitStorage } from './quota/shared-rate-limit-storage';

/** BullMQ's queue of executions; its wait list is `bull:sandbox-executions:wait`. */
export const EXECUTION_QUEUE_NAME = 'sandbox-executions';
/** BullMQ's queue of adjustments; its jobs are under `bull:sandbox-adjustments:`. */
export const ADJUSTMENT_QUEUE_NAME = 'sandbox-adjustments';
/**
 * History limit in cluster mode: delivered and failed adjustments kept, each; older ones
 * are removed from Redis, and GET /adjustments/{id} answers 404 for them.
 */
export const ADJUSTMENT_HISTORY_LIMIT = 10_000;
/** How often workers look for jobs whose worker was lost. */
const STALLED_CHECK_MS = 5_000;
/** Where the rate limiter keeps its counts: a ThrottlerStorage. */
export const RATE_LIMIT_STORAGE = Symbol('RateLimitStorage');

/** Ports every mode provides; the composition root and the services inject these. */
const PORTS = [
  RedisClients,
  ExecutionStore,
  ExecutionQueue,
  ExecutionFeed,
  AdjustmentOutbox,
  FileStore,
  RATE_LIMIT_STORAGE,
];

/**
 * Where one machine keeps file bytes: beside the database (`files/` in its directory);
 * for an in-memory database, a directory of this instance under the system's tmp.
 */
export function localFilesDirectory(config: AppConfig): string {
  return config.databasePath === ':memory:'
    ? join(tmpdir(), 'brain-net-files', config.instanceId)
    : join(dirname(config.databasePath), 'files');
}

/**
 * One machine (no REDIS_URL): executions in the SQLite file, files on local disk with
 * their rows in the same file, an in-process fair queue and feed, adjustments in SQLite with a poller that delivers them, rate-limit counts in
 * this process's memory.
 */
function singleMachineAdapters(): Provider[] {
  return [
    { provide: RedisClients, useValue: null },
    {
      provide: ExecutionStore,
      inject: [SqliteDatabase, StoreOptions],
      useFactory: (database: SqliteDatabase, options: StoreOptions) =>
        new SqliteExecutionStore(database, options),
    },
    {
      provide: ExecutionQueue,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const logger = new Logger('ExecutionQueue');
        return new InProcessExecutionQueue(
          {
            maxRunning: config.maxConcurrentExecutions,
            maxQueued: config.maxQueuedExecutions,
            maxRunningPerTenant: config.maxConcurrentPerTenant,
            maxQueuedPerTenant: config.maxQueuedPerTenant,
          },
          (error: unknown) => logger.error('an execution task failed unexpectedly', stackOf(error)),
        );
      },
    },
    { provide: ExecutionFeed, useFactory: () => new LocalExecutionFeed() },
    {
      provide: FileStore,
      inject: [SqliteDatabase, AppConfig],
      useFactory: (database: SqliteDatabase, config: AppConfig) =>
        new LocalFileStore(database, { directory: localFilesDirectory(config) }),
    },
    {
      provide: AdjustmentOutbox,
      inject: [AdjustmentStore, BackendClient, AppConfig, MetricsService],
      useFactory: (
        store: AdjustmentStore,
        backend: BackendClient,
        config: AppConfig,
        metrics: MetricsService,
      ) =>
        new SqliteAdjustmentOutbox(
          store,
          new AdjustmentDeliveryService(store, backend, config, metrics),
        ),
    },
    { provide: RATE_LIMIT_STORAGE, useFactory: () => new ThrottlerStorageService() },
  ];
}

/**
 * Cluster mode (REDIS_URL): executions, files (in bounded chunks), the queue, the feed,
 * adjustments and rate-limit counts in the Redis every instance shares; the SQLite file is unused for executions.
 */
function clusterAdapters(redisSettings: RedisSettings): Provider[] {
  const queueLogger = (name: string) => {
    const logger = new Logger(name);
    return (error: unknown) => logger.warn(`queue: ${errorMessage(error)}`);
  };
  return [
    {
      provide: RedisClients,
      useFactory: () => new RedisClients(redisSettings.url, redisSettings.keyPrefix),
    },
    {
      provide: ExecutionStore,
      inject: [RedisClients, AppConfig],
      useFactory: (redis: RedisClients, config: AppConfig) =>
        new RedisExecutionStore(redis.commands, {
          keyPrefix: redisSettings.keyPrefix,
          executionHistoryLimit: config.executionHistoryLimit,
        }),
    },
    {
      provide: ExecutionQueue,
      inject: [RedisClients, AppConfig],
      useFactory: (redis: RedisClients, config: AppConfig) =>
        new BullmqExecutionQueue({
          queueName: EXECUTION_QUEUE_NAME,
          commands: redis.commands,
          workerConnection: () => redis.workerConnection(),
          concurrency: config.maxConcurrentExecutions,
          maxWaiting: config.maxQueuedExecutions,
          maxWaitingPerTenant: config.maxQueuedPerTenant,
          lockMs: redisSettings.workerLostAfterMs,
          stalledCheckMs: Math.min(STALLED_CHECK_MS, redisSettings.workerLostAfterMs),
          onError: queueLogger('ExecutionQueue'),
        }),
    },
    {
      provide: FileStore,
      inject: [RedisClients],
      useFactory: (redis: RedisClients) =>
        new RedisFileStore(redis.commands, { keyPrefix: redisSettings.keyPrefix }),
    },
    {
      provide: ExecutionFeed,
      inject: [RedisClients],
      useFactory: (redis: RedisClients) =>
        new RedisExecutionFeed(redis.commands, redis.subscriber, {
          keyPrefix: redisSettings.keyPrefix,
        }),
    },
    {
      provide: AdjustmentOutbox,
      inject: [RedisClients, AppConfig, BackendClient, MetricsService],
      useFactory: (
        redis: RedisClients,
        config: AppConfig,
        backend: BackendClient,
        metrics: MetricsService,
      ) => {
        const queue = new BullmqAdjustmentQueue({
          queueName: ADJUSTMENT_QUEUE_NAME,
          commands: redis.commands,
          workerConnection: () => redis.workerConnection(),
          maxAttempts: config.adjustmentDelivery.maxAttempts,
          retryDelayMs: (failedAttempts) => retryDelayMs(failedAttempts, config.adjustmentDelivery),
          concurrency: MAX_PARALLEL_DELIVERIES,
          keepEnded: ADJUSTMENT_HISTORY_LIMIT,
          onError: queueLogger('AdjustmentQueue'),
        });
        return new BullmqAdjustmentOutbox(queue, backend, metrics);
      },
    },
    {
      provide: RATE_LIMIT_STORAGE,
      inject: [RedisClients],
      useFactory: (redis: RedisClients) => new SharedRateLimitStorage(redis.commands),
    },
  ];
}

/**
 * The one place that picks each port's adapter for the mode (docs/architecture.md has
 * the table). Global: it is the set of ports every feature may ask for. The libraries'
 * modules come with it: the Docker runner, the SQLite database (adjustments on one
 * machine; its file is opened in both modes) and the backend client.
 */
@Module({})
export class AdaptersModule {
  static forMode(config: AppConfig): DynamicModule {
    // Not global: the ports and libraries reach every feature through this module alone.
    const libraries = [
      RunnerModule.forRoot({
        dockerHost: config.dockerHost,
        instanceId: config.instanceId,
        warmPool:
          config.warmPoolSize > 0
            ? {
                size: config.warmPoolSize,
                image: config.sandboxImage,
                limits: config.limits,
                preload: config.preload,
              }
            : null,
        isGlobal: false,
      }),
      StoreModule.forRoot({
        databasePath: config.databasePath,
        executionHistoryLimit: config.executionHistoryLimit,
        maxStoreBytes: config.storeMaxBytes,
        isGlobal: false,
      }),
      BackendClientModule.forRoot({
        baseUrl: config.backend.url,
        timeoutMs: config.backend.timeoutMs,
        processorPath: config.backend.processorPath,
        serviceToken: config.backend.token,
        adjustmentPath: config.backend.adjustmentPath,
        isGlobal: false,
      }),
    ];
    return {
      module: AdaptersModule,
      global: true,
      imports: [...libraries, MetricsModule],
      providers: config.redis ? clusterAdapters(config.redis) : singleMachineAdapters(),
      exports: [...PORTS, ...libraries.map((library) => library.module)],
    };
  }
}
