import { DynamicModule, InjectionToken, Module } from '@nestjs/common';
import { DockerRunner } from './docker-runner';
import { DockerodeRunner } from './dockerode-runner';
import { RunnerOptions } from './runner-options';

export interface RunnerModuleAsyncOptions {
  readonly imports?: DynamicModule['imports'];
  readonly inject?: InjectionToken[];
  readonly useFactory: (...args: never[]) => RunnerOptions;
}

/** Provides the DockerRunner port, backed by dockerode. */
@Module({})
export class RunnerModule {
  static forRootAsync(options: RunnerModuleAsyncOptions): DynamicModule {
    return {
      module: RunnerModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: RunnerOptions, useFactory: options.useFactory, inject: options.inject ?? [] },
        { provide: DockerRunner, useClass: DockerodeRunner },
      ],
      exports: [DockerRunner],
    };
  }
}
