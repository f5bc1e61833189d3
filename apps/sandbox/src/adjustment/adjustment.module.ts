import { Global, Logger, Module } from '@nestjs/common';
import { BackendClient } from '@brain-net/backend-client';
import { BullmqAdjustmentQueue } from '@brain-net/messaging';
import { AdjustmentStore } from '@brain-net/store';
import { RedisClients } from '../cluster/redis-clients';
import { AppConfig } from '../config/app-config';
import { errorMessage } from '../errors/error-message';
import { MetricsService } from '../metrics/metrics.service';
import { AdjustmentController } from './adjustment.controller';
import { AdjustmentDeliveryService, MAX_PARALLEL_DELIVERIES } from './adjustment-delivery.service';
import { AdjustmentOutbox } from './adjustment-outbox';
import { AdjustmentService } from './adjustment.service';
import { BullmqAdjustmentOutbox } from './bullmq-adjustment-outbox';
import { retryDelayMs } from './retry-delay';
import { SqliteAdjustmentOutbox } from './sqlite-adjustment-outbox';

/** BullMQ's queue of adjustments; its jobs are under `bull:sandbox-adjustments:`. */
export const ADJUSTMENT_QUEUE_NAME = 'sandbox-adjustments';
/**
 * History limit in cluster mode: delivered and failed adjustments kept, each; older ones
 * are removed from Redis, and GET /adjustments/{id} answers 404 for them.
 */
export const ADJUSTMENT_HISTORY_LIMIT = 10_000;

/**
 * POST /adjust-processor and its delivery to the backend: with REDIS_URL through a BullMQ
 * queue every instance shares, else through the SQLite store and a poller. Global, so
 * that /health can count adjustments; the store, the client and Redis are global too.
 */
@Global()
@Module({
  controllers: [AdjustmentController],
  providers: [
    AdjustmentService,
    {
      provide: AdjustmentOutbox,
      inject: [AppConfig, RedisClients, AdjustmentStore, BackendClient, MetricsService],
      useFactory: (
        config: AppConfig,
        redis: RedisClients | null,
        store: AdjustmentStore,
        backend: BackendClient,
        metrics: MetricsService,
      ): AdjustmentOutbox => {
        if (!config.redis || !redis) {
          return new SqliteAdjustmentOutbox(
            store,
            new AdjustmentDeliveryService(store, backend, config, metrics),
          );
        }
        const logger = new Logger('AdjustmentQueue');
        const queue = new BullmqAdjustmentQueue({
          queueName: ADJUSTMENT_QUEUE_NAME,
          commands: redis.commands,
          workerConnection: () => redis.workerConnection(),
          maxAttempts: config.adjustmentDelivery.maxAttempts,
          retryDelayMs: (failedAttempts) => retryDelayMs(failedAttempts, config.adjustmentDelivery),
          concurrency: MAX_PARALLEL_DELIVERIES,
          keepEnded: ADJUSTMENT_HISTORY_LIMIT,
          onError: (error: unknown) => logger.warn(`queue: ${errorMessage(error)}`),
        });
        return new BullmqAdjustmentOutbox(queue, backend, metrics);
      },
    },
  ],
  exports: [AdjustmentOutbox],
})
export class AdjustmentModule {}
