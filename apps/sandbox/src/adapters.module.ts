import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DynamicModule, Logger, Module, Provider } from '@nestjs/common';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { BackendClient, BackendClientModule } from '@brain-net/backend-client';
import {
  BullmqAdjustmentQueue,
  BullmqCallbackQueue,
  BullmqExecutionQueue,
  ExecutionFeed,
  ExecutionQueue,
  LocalExecutionFeed,
  RedisExecutionFeed,
} from '@brain-net/messaging';
import { RunnerModule } from '@brain-net/runner';
import {
  AdjustmentStore,
  CallbackOutbox,
  ExecutionStore,
  FileStore,
  LocalFileStore,
  RedisExecutionStore,
  RedisFileStore,
  SqliteCallbackStore,
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
import { retryDelayMs } from './config/retry-delay';
import { SqliteAdjustmentOutbox } from './adjustment/sqlite-adjustment-outbox';
import { WebhookSender, WebhooksModule } from '@brain-net/webhooks';
import { BullmqCallbackOutbox } from './callbacks/bullmq-callback-outbox';
import { CallbackDeliverer, WAIT_RECHECK_MS } from './callbacks/callback-deliverer';
import { MAX_PARALLEL_CALLBACKS, SqliteCallbackOutbox } from './callbacks/sqlite-callback-outbox';
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
/** BullMQ's queue of execution callbacks; its jobs are under `bull:sandbox-callbacks:`. */
export const CALLBACK_QUEUE_NAME = 'sandbox-callbacks';
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
  CallbackOutbox,
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
 * their rows in the same file, an in-process fair queue and feed, adjustments and
 * callbacks in SQLite with pollers that deliver them, rate-limit counts in this
 * process's memory.
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
    {
      provide: CallbackOutbox,
      inject: [SqliteDatabase, ExecutionStore, WebhookSender, AppConfig],
      useFactory: (
        database: SqliteDatabase,
        executions: ExecutionStore,
        sender: WebhookSender,
        config: AppConfig,
      ) => {
        const deliverer = new CallbackDeliverer(executions, sender);
        return new SqliteCallbackOutbox(
          new SqliteCallbackStore(database),
          (callback, attempt) => deliverer.attempt(callback, attempt),
          { ...config.callbacks.delivery, firstLookMs: WAIT_RECHECK_MS },
        );
      },
    },
    { provide: RATE_LIMIT_STORAGE, useFactory: () => new ThrottlerStorageService() },
  ];
}

/**
 * Cluster mode (REDIS_URL): executions, files (in bounded chunks), the queue, the feed,
 * adjustments, callbacks and rate-limit counts in the Redis every instance shares; the
 * SQLite file is unused for executions.
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
      provide: CallbackOutbox,
      inject: [RedisClients, ExecutionStore, WebhookSender, AppConfig],
      useFactory: (
        redis: RedisClients,
        executions: ExecutionStore,
        sender: WebhookSender,
        config: AppConfig,
      ) => {
        const { delivery } = config.callbacks;
        const onError = queueLogger('CallbackQueue');
        const queue = new BullmqCallbackQueue({
          queueName: CALLBACK_QUEUE_NAME,
          commands: redis.commands,
          workerConnection: () => redis.workerConnection(),
          maxAttempts: delivery.maxAttempts,
          retryDelayMs: (failedAttempts) => retryDelayMs(failedAttempts, delivery),
          concurrency: MAX_PARALLEL_CALLBACKS,
          // As long as executions are: a callback outlives no record of its own.
          keepEnded: config.executionHistoryLimit,
          onError,
        });
        const deliverer = new CallbackDeliverer(executions, sender);
        return new BullmqCallbackOutbox(
          queue,
          (callback, attempt) => deliverer.attempt(callback, attempt),
          WAIT_RECHECK_MS,
          onError,
        );
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
 * machine; its file is opened in both modes), the backend client and the callback sender.
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
                images: config.runtimes.all.map((runtime) => runtime.image),
                limits: config.limits,
                preload: config.preload,
                cores: availableParallelism(),
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
      WebhooksModule.forRoot({
        // Callbacks off (no allowed host): every send is refused before anything is
        // signed, so a throwaway secret serves the signer (a callback left by an earlier
        // run ends `failed`).
        secret: config.callbacks.secret ?? `whsec_${randomBytes(32).toString('base64')}`,
        allowedHosts: config.callbacks.allowedHosts,
        allowPrivateAddresses: config.callbacks.allowPrivateAddresses,
        allowHttp: config.callbacks.allowHttp,
        timeoutMs: config.callbacks.timeoutMs,
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
