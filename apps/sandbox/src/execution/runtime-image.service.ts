import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DockerRunner, EngineImage } from '@brain-net/runner';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';

export const IMAGE_BUILD_HINT =
  'build it with `npm run build:image` (scripts/build-runtime-image.sh)';

/** Knows whether the runtime image is present, and says how to build it when it is not. */
@Injectable()
export class RuntimeImageService implements OnApplicationBootstrap {
  private readonly logger = new Logger(RuntimeImageService.name);
  private present: EngineImage | null = null;

  constructor(
    private readonly runner: DockerRunner,
    private readonly config: AppConfig,
  ) {}

  get tag(): string {
    return this.config.sandboxImage;
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      const image = await this.refresh();
      if (image) this.logger.log(`runtime image ${this.tag} is ${image.id}`);
      else this.logger.error(`runtime image ${this.tag} is missing: ${IMAGE_BUILD_HINT}`);
    } catch (error: unknown) {
      this.logger.error(
        `cannot check runtime image ${this.tag}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Asks the engine again. Throws EngineUnavailableError when it cannot be asked. */
  async refresh(): Promise<EngineImage | null> {
    this.present = null;
    this.present = await this.runner.findImage(this.tag);
    return this.present;
  }

  /** The image, or a 503-worthy error that says how to build it. */
  async require(): Promise<EngineImage> {
    const image = this.present ?? (await this.refreshOrUnavailable());
    if (!image) {
      throw new DomainError(
        'RUNTIME_IMAGE_MISSING',
        `The runtime image ${this.tag} is not on the Docker engine: ${IMAGE_BUILD_HINT}.`,
      );
    }
    return image;
  }

  /** Forget what we knew, after the engine failed or said "no such image": ask again next time. */
  forget(): void {
    this.present = null;
  }

  private async refreshOrUnavailable(): Promise<EngineImage | null> {
    try {
      return await this.refresh();
    } catch (error: unknown) {
      throw new DomainError(
        'ENGINE_UNAVAILABLE',
        `The Docker engine is unreachable: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
