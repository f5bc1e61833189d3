import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DockerRunner } from '@brain-net/runner';
import { AppConfig } from '../config/app-config';
import { ExecutionService } from '../execution/execution.service';
import { IMAGE_BUILD_HINT, RuntimeImageService } from '../execution/runtime-image.service';

/** The dependencies an execution needs, each as a terminus indicator. */
@Injectable()
export class SandboxHealthIndicators {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly runner: DockerRunner,
    private readonly image: RuntimeImageService,
    private readonly executions: ExecutionService,
    private readonly config: AppConfig,
  ) {}

  async dockerEngine() {
    const indicator = this.health.check('docker_engine');
    try {
      await this.runner.ping();
      return indicator.up({ containers: await this.runner.countOwnContainers() });
    } catch (error: unknown) {
      return indicator.down({ message: messageOf(error) });
    }
  }

  async runtimeImage() {
    const indicator = this.health.check('runtime_image');
    try {
      const image = await this.image.refresh();
      return image
        ? indicator.up({ tag: image.tag, id: image.id })
        : indicator.down({ tag: this.image.tag, message: `missing: ${IMAGE_BUILD_HINT}` });
    } catch (error: unknown) {
      return indicator.down({ tag: this.image.tag, message: messageOf(error) });
    }
  }

  queue() {
    const indicator = this.health.check('queue');
    const details = {
      running: this.executions.runningCount,
      queued: this.executions.queuedCount,
      max_concurrent: this.config.maxConcurrentExecutions,
      max_queued: this.config.maxQueuedExecutions,
    };
    return this.executions.isSaturated
      ? indicator.down({ ...details, message: 'the queue is full' })
      : indicator.up(details);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
