import { Module } from '@nestjs/common';
import { DockerRunner } from './docker-runner';
import { DockerodeRunner } from './dockerode-runner';
import { RunnerOptions } from './runner-options';
import { ConfigurableRunnerModule, RUNNER_OPTIONS_TOKEN } from './runner.module-definition';

/**
 * Provides the DockerRunner port, backed by dockerode:
 * `RunnerModule.forRoot(options)` or `RunnerModule.forRootAsync({ inject, useFactory })`.
 */
@Module({
  providers: [
    // DockerodeRunner asks for RunnerOptions by class, as every other options class is asked for.
    { provide: RunnerOptions, useExisting: RUNNER_OPTIONS_TOKEN },
    { provide: DockerRunner, useClass: DockerodeRunner },
  ],
  exports: [DockerRunner],
})
export class RunnerModule extends ConfigurableRunnerModule {}
