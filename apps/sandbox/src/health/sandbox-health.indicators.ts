import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorFunction, HealthIndicatorService } from '@nestjs/terminus';
import { QueueLoad, pingRedis } from '@brain-net/messaging';
import { RedisClients } from '../cluster/redis-clients';
import { errorMessage } from '../errors/error-message';
import { DockerRunner, HarnessDelivery } from '@brain-net/runner';
import { AppConfig } from '../config/app-config';
import { ExecutionService } from '../execution/execution.service';
import {
  EngineStatusService,
  IMAGE_BUILD_HINT,
  RUNTIME_IMAGE_HINT,
} from '../execution/engine-status.service';

/** The dependencies an execution needs, each as a terminus indicator. */
@Injectable()
export class SandboxHealthIndicators {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly runner: DockerRunner,
    private readonly engine: EngineStatusService,
    private readonly executions: ExecutionService,
    private readonly config: AppConfig,
    @Inject(RedisClients) private readonly redisClients: RedisClients | null,
  ) {}

  /**
   * From the engine watch's last answer (at most ENGINE_CHECK_INTERVAL_MS old, sooner
   * when the engine's events say something changed): probes never wait on the engine.
   */
  dockerEngine() {
    const indicator = this.health.check('docker_engine');
    const state = this.engine.current;
    switch (state.kind) {
      case 'engine-down':
        return indicator.down({ message: state.reason });
      case 'unknown':
        return indicator.down({ message: 'the engine has not answered yet' });
      case 'runtime-missing':
        // The engine answers, but cannot start a sandbox container as configured.
        return indicator.down({ runtime: state.runtime, message: state.message });
      case 'ready':
      case 'image-missing':
        return indicator.up();
    }
  }

  /** How many containers this instance has on the engine: asks the engine. */
  async containers() {
    const indicator = this.health.check('containers');
    try {
      return indicator.up({ count: await this.runner.countOwnContainers() });
    } catch (error: unknown) {
      return indicator.down({ message: errorMessage(error) });
    }
  }

  runtimeImage() {
    const indicator = this.health.check('runtime_image');
    const state = this.engine.current;
    const tag = this.engine.tag;
    switch (state.kind) {
      case 'ready':
      case 'runtime-missing':
        return indicator.up({
          tag,
          id: state.image.id,
          harness: harnessOf(this.runner.harnessDelivery(tag)),
        });
      case 'image-missing':
        return indicator.down({ tag, message: `missing: ${IMAGE_BUILD_HINT}` });
      case 'engine-down':
      case 'unknown':
        return indicator.down({ tag, message: 'the engine cannot be asked' });
    }
  }

  /**
   * Every runtime's image (SANDBOX_RUNTIMES, the default's included), from the engine
   * watch's last answer: down while one is missing, as the configuration promises each
   * (jobs of that runtime are refused, or wait, as for a missing default image).
   */
  runtimeImages() {
    const indicator = this.health.check('runtime_images');
    const { kind } = this.engine.current;
    if (kind === 'engine-down' || kind === 'unknown') {
      return indicator.down({ message: 'the engine cannot be asked' });
    }
    const { all, default: first } = this.config.runtimes;
    const runtimes = Object.fromEntries(
      all.map((runtime) => {
        const image = this.engine.imageOf(runtime.image) ?? null;
        const details = {
          tag: runtime.image,
          default: runtime === first,
          id: image?.id ?? null,
          harness: image ? harnessOf(this.runner.harnessDelivery(runtime.image)) : null,
        };
        return [runtime.name, details];
      }),
    );
    const missing = all.filter((runtime) => !this.engine.imageOf(runtime.image));
    if (missing.length === 0) return indicator.up({ runtimes });
    const names = missing.map((runtime) => `${runtime.name} (${runtime.image})`).join(', ');
    return indicator.down({
      runtimes,
      message: `missing: ${names}: ${missing.includes(first) ? IMAGE_BUILD_HINT : RUNTIME_IMAGE_HINT}`,
    });
  }

  /** Down from the moment shutdown begins, so that load balancers send no more work here. */
  acceptingExecutions() {
    const indicator = this.health.check('accepting_executions');
    return this.executions.isShuttingDown
      ? indicator.down({ message: 'the service is shutting down' })
      : indicator.up();
  }

  /** Down while the execution store refuses writes (results are kept in memory meanwhile). */
  store() {
    const indicator = this.health.check('store');
    const failure = this.executions.storeFailure;
    return failure === null ? indicator.up() : indicator.down({ message: failure });
  }

  /** Waiting: in the whole queue (the cluster's, in cluster mode); running: here. */
  async queue() {
    const indicator = this.health.check('queue');
    let load: QueueLoad;
    try {
      load = await this.executions.load();
    } catch (error: unknown) {
      return indicator.down({ message: `the queue cannot be asked: ${errorMessage(error)}` });
    }
    const details = {
      running: load.running,
      queued: load.waiting,
      max_concurrent: this.config.maxConcurrentExecutions,
      max_queued: this.config.maxQueuedExecutions,
      shared: this.redisClients !== null,
    };
    return load.waiting >= this.config.maxQueuedExecutions
      ? indicator.down({ ...details, message: 'the queue is full' })
      : indicator.up(details);
  }

  /** Cluster mode: Redis answers (records, queue and feed all live there). */
  async redis() {
    const indicator = this.health.check('redis');
    if (!this.redisClients) return indicator.up({ mode: 'single machine: not used' });
    try {
      await pingRedis(this.redisClients.commands, REDIS_PING_TIMEOUT_MS);
      return indicator.up();
    } catch (error: unknown) {
      return indicator.down({ message: errorMessage(error) });
    }
  }

  /**
   * What readiness asks: not shutting down, Redis (in cluster mode), the engine and the
   * runtime images (on instances that run executions: those whose worker watches the
   * engine), the store, the queue.
   */
  readinessChecks(): HealthIndicatorFunction[] {
    const engineChecks = [
      () => this.dockerEngine(),
      () => this.runtimeImage(),
      () => this.runtimeImages(),
    ];
    return [
      () => this.acceptingExecutions(),
      () => this.redis(),
      ...(this.engine.watching ? engineChecks : []),
      () => this.store(),
      () => this.queue(),
    ];
  }
}

/** A readiness probe must answer well within its own timeout (1 s by default). */
const REDIS_PING_TIMEOUT_MS = 500;

/** How containers get the harness, for people reading /health (PROTOCOL.md). */
function harnessOf(delivery: HarnessDelivery): string {
  return delivery.form === 'compiled' ? `compiled by Python ${delivery.python}` : 'source';
}
