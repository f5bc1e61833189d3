import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { RunnerModule, RunnerOptions } from '@brain-net/runner';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { ProblemDetailsFilter } from './errors/problem-details.filter';
import { DebugModule } from './debug/debug.module';
import { ExecutionModule } from './execution/execution.module';
import { HealthModule } from './health/health.module';
import { InfoModule } from './info/info.module';
import { createValidationPipe } from './http/validation';

@Module({
  imports: [
    ConfigModule,
    RunnerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig): RunnerOptions => ({
        dockerHost: config.dockerHost,
        instanceId: config.instanceId,
      }),
    }),
    ExecutionModule,
    DebugModule,
    HealthModule,
    InfoModule,
  ],
  providers: [
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
  ],
})
export class AppModule {}
