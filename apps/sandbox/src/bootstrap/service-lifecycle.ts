import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { ExecutionFeed, ExecutionQueue } from '@brain-net/messaging';
import { DockerRunner } from '@brain-net/runner';
import { SqliteDatabase } from '@brain-net/store';
import { AdjustmentOutbox } from '../adjustment/adjustment-outbox';
import { CallbacksService } from '../callbacks/callbacks.service';
import { RedisClients } from '../cluster/redis-clients';
import { errorMessage } from '../errors/error-message';
import { EngineStatusService } from '../execution/engine-status.service';
import { ExecutionFeedRelay } from '../execution/execution-feed-relay';
import { ExecutionLifecycle } from '../execution/execution-lifecycle';
import { ExecutionStatistics } from '../execution/execution-statistics';
import { ExecutionWorker } from '../execution/execution-worker';
import { ExecutionService } from '../execution/execution.service';
import { FileSweeper } from '../files/file-sweeper';
import { MetricsService } from '../metrics/metrics.service';
import { HttpShutdown } from './http-shutdown';

/** One named step of the start-up or the shutdown. */
export interface LifecycleStep {
  readonly name: string;
  readonly run: () => void | Promise<void>;
}

/**
 * The start-up and the shutdown of an instance, each as one sequence in one place, so
 * their order never depends on the order Nest happens to visit modules in. Start-up:
 * Redis layout (cluster mode), the store's leftovers, the worker (ROLE all or worker),
 * adjustment and callback delivery. Shutdown, while the HTTP server still answers: drain
 * the executions and let their clients have the answers (and their callbacks be kicked),
 * then finish the deliveries under way; once Nest closed the server: stop the timers and listeners, close the feed, the
 * queues, remove the warm containers, close Redis, and last the SQLite file.
 */
@Injectable()
export class ServiceLifecycle
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Lifecycle');

  constructor(
    @Inject(RedisClients) private readonly redis: RedisClients | null,
    private readonly http: HttpShutdown,
    private readonly executions: ExecutionService,
    private readonly lifecycle: ExecutionLifecycle,
    private readonly engine: EngineStatusService,
    private readonly relay: ExecutionFeedRelay,
    private readonly statistics: ExecutionStatistics,
    private readonly metrics: MetricsService,
    private readonly adjustments: AdjustmentOutbox,
    private readonly callbacks: CallbacksService,
    private readonly fileSweeper: FileSweeper,
    private readonly queue: ExecutionQueue,
    private readonly feed: ExecutionFeed,
    private readonly runner: DockerRunner,
    private readonly database: SqliteDatabase,
    @Optional() @Inject(ExecutionWorker) private readonly worker: ExecutionWorker | null,
  ) {}

  /** In order; a step that fails stops the boot. */
  startSteps(): LifecycleStep[] {
    const { redis, worker } = this;
    return [
      ...(redis ? [step('check the Redis layout', () => redis.checkLayout())] : []),
      step('close what the last run left unfinished', () => this.executions.start()),
      ...(worker ? [step('watch the engine and take jobs', () => worker.start())] : []),
      step('deliver adjustments', () => this.adjustments.start()),
      step('deliver callbacks', () => this.callbacks.start()),
      step('sweep expired files', () => this.fileSweeper.start()),
    ];
  }

  /** While the HTTP server still answers; each step runs even if one before it failed. */
  drainSteps(): LifecycleStep[] {
    return [
      step('drain the executions, answering their clients', () => this.http.drainWhileAnswering()),
      step('finish the adjustment deliveries under way', () => this.adjustments.stop()),
      step('finish the callback deliveries under way', () => this.callbacks.stop()),
    ];
  }

  /** Once the HTTP server closed; each step runs even if one before it failed. */
  closeSteps(): LifecycleStep[] {
    const { redis } = this;
    return [
      step('stop the timers and listeners', () => {
        this.http.stop();
        this.relay.stop();
        this.statistics.stop();
        this.metrics.stop();
        this.lifecycle.stop();
        this.engine.stop();
        this.fileSweeper.stop();
      }),
      step('close the feed', () => this.feed.close()),
      step('close the queues', async () => {
        await this.queue.close();
        await this.adjustments.close();
        await this.callbacks.close();
      }),
      step('remove the warm containers', () => this.runner.close()),
      ...(redis ? [step('close the Redis connections', () => redis.quit())] : []),
      step('close the SQLite database', () => this.database.close()),
    ];
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const { run } of this.startSteps()) await run();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.runEach(this.drainSteps());
  }

  onApplicationShutdown(): Promise<void> {
    return this.runEach(this.closeSteps());
  }

  private async runEach(steps: LifecycleStep[]): Promise<void> {
    for (const { name, run } of steps) {
      try {
        await run();
      } catch (error: unknown) {
        this.logger.error(`shutdown: cannot ${name}: ${errorMessage(error)}`);
      }
    }
  }
}

function step(name: string, run: () => void | Promise<void>): LifecycleStep {
  return { name, run };
}
