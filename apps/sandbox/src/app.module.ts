import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { BackendClientModule, BackendClientOptions } from '@brain-net/backend-client';
import { RunnerModule, RunnerOptions } from '@brain-net/runner';
import { StoreModule, StoreOptions } from '@brain-net/store';
import { AdjustmentModule } from './adjustment/adjustment.module';
import { callerOf } from './auth/access';
import { AuthModule } from './auth/auth.module';
import { QuotaModule } from './quota/quota.module';
import { SharedRateLimitStorage } from './quota/shared-rate-limit-storage';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { ClusterModule } from './cluster/cluster.module';
import { RedisClients } from './cluster/redis-clients';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { DebugModule } from './debug/debug.module';
import { ExecutionModule } from './execution/execution.module';
import { HealthModule } from './health/health.module';
import { InfoModule } from './info/info.module';
import { HttpShutdown } from './bootstrap/http-shutdown';
import { LoggingModule } from './bootstrap/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { ProcessorModule } from './processor/processor.module';
import { createValidationPipe } from './http/validation';

@Module({
  imports: [
    ConfigModule,
    LoggingModule,
    AuthModule,
    RunnerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig): RunnerOptions => ({
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
      }),
    }),
    ClusterModule,
    StoreModule.forRootAsync({
      inject: [AppConfig, RedisClients],
      useFactory: (config: AppConfig, redis: RedisClients | null): StoreOptions => ({
        databasePath: config.databasePath,
        executionHistoryLimit: config.executionHistoryLimit,
        maxStoreBytes: config.storeMaxBytes,
        redis:
          config.redis && redis
            ? { client: redis.commands, keyPrefix: config.redis.keyPrefix }
            : null,
      }),
    }),
    BackendClientModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig): BackendClientOptions => ({
        baseUrl: config.backend.url,
        timeoutMs: config.backend.timeoutMs,
        processorPath: config.backend.processorPath,
        serviceToken: config.backend.token,
        adjustmentPath: config.backend.adjustmentPath,
      }),
    }),
    QuotaModule.forRootAsync({
      inject: [AppConfig, RedisClients],
      useFactory: (config: AppConfig, redis: RedisClients | null) => ({
        rateLimitPerMinute: config.rateLimitPerMinute,
        adjustmentRateLimitPerMinute: config.adjustmentRateLimitPerMinute,
        callerOf,
        storage: redis ? new SharedRateLimitStorage(redis.commands) : undefined,
      }),
    }),
    ExecutionModule,
    DebugModule,
    HealthModule,
    InfoModule,
    MetricsModule,
    AdjustmentModule,
    ProcessorModule,
  ],
  providers: [
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
    HttpShutdown,
  ],
})
export class AppModule {}
