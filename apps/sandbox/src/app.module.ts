import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { AdaptersModule, RATE_LIMIT_STORAGE } from './adapters.module';
import { AdjustmentModule } from './adjustment/adjustment.module';
import { callerOf } from './auth/access';
import { AuthModule } from './auth/auth.module';
import { CallbacksModule } from './callbacks/callbacks.module';
import { HttpShutdown } from './bootstrap/http-shutdown';
import { LoggingModule } from './bootstrap/logging.module';
import { ServiceLifecycle } from './bootstrap/service-lifecycle';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DebugModule } from './debug/debug.module';
import { ExecutionModule } from './execution/execution.module';
import { ExecutionWorkerModule } from './execution/execution-worker';
import { HealthModule } from './health/health.module';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { createValidationPipe } from './http/validation';
import { InfoModule } from './info/info.module';
import { McpModule } from './mcp/mcp.module';
import { PlaygroundModule } from './playground/playground.module';
import { BatchModule } from './batch/batch.module';
import { FilesModule } from './files/files.module';
import { MetricsModule } from './metrics/metrics.module';
import { ProcessorModule } from './processor/processor.module';
import { QuotaModule } from './quota/quota.module';
import { RuntimesModule } from './runtimes/runtimes.module';

/** What every instance serves: the HTTP API, its door, and its probes. */
const API_MODULES = [
  AuthModule,
  ExecutionModule,
  BatchModule,
  FilesModule,
  DebugModule,
  AdjustmentModule,
  CallbacksModule,
  HealthModule,
  InfoModule,
  MetricsModule,
  ProcessorModule,
  RuntimesModule,
  McpModule,
  PlaygroundModule,
];

/** What makes an instance run executions (ROLE all or worker): its engine and the queue's jobs. */
const WORKER_MODULES = [ExecutionWorkerModule];

/**
 * The composition root. The mode (one machine, or cluster mode with REDIS_URL) is the
 * adapters AdaptersModule picks; the role (ROLE) is which modules are composed: every
 * instance serves the API, and those that run executions add the worker. Start-up and
 * shutdown run as one sequence (ServiceLifecycle).
 */
@Module({})
export class AppModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forConfig(config),
        LoggingModule,
        AdaptersModule.forMode(config),
        QuotaModule.forRootAsync({
          inject: [RATE_LIMIT_STORAGE],
          useFactory: (storage: ThrottlerStorage) => ({
            rateLimitPerMinute: config.rateLimitPerMinute,
            adjustmentRateLimitPerMinute: config.adjustmentRateLimitPerMinute,
            callerOf,
            storage,
          }),
        }),
        ...API_MODULES,
        ...(config.runsExecutions ? WORKER_MODULES : []),
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        HttpShutdown,
        ServiceLifecycle,
      ],
    };
  }
}
