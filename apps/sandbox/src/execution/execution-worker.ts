import { Injectable, Module } from '@nestjs/common';
import { EngineStatusService } from './engine-status.service';
import { ExecutionLifecycle } from './execution-lifecycle';
import { ExecutionModule } from './execution.module';

/**
 * What makes an instance run executions (ROLE all or worker): it watches its engine and
 * takes jobs from the queue. An instance without it (ROLE=api) runs nothing and needs no
 * engine; the composition root decides which instances have it.
 */
@Injectable()
export class ExecutionWorker {
  constructor(
    private readonly engine: EngineStatusService,
    private readonly lifecycle: ExecutionLifecycle,
  ) {}

  /** At start-up (ServiceLifecycle): the engine's first answer, then the first jobs. */
  async start(): Promise<void> {
    await this.engine.watch();
    await this.lifecycle.work();
  }
}

@Module({
  imports: [ExecutionModule],
  providers: [ExecutionWorker],
  exports: [ExecutionWorker],
})
export class ExecutionWorkerModule {}
