import { Module } from '@nestjs/common';
import { FilesModule } from '../files/files.module';
import { ProcessorModule } from '../processor/processor.module';
import { RuntimesModule } from '../runtimes/runtimes.module';
import { ExecutionController } from './execution.controller';
import { ExecutionEvents } from './execution-events';
import { ExecutionFeedRelay } from './execution-feed-relay';
import { ExecutionStatistics } from './execution-statistics';
import { ExecutionService } from './execution.service';
import { ExecutionAdmission } from './execution-admission';
import { ExecutionLifecycle } from './execution-lifecycle';
import { EngineStatusService } from './engine-status.service';

@Module({
  imports: [ProcessorModule, FilesModule, RuntimesModule],
  controllers: [ExecutionController],
  providers: [
    ExecutionService,
    ExecutionAdmission,
    ExecutionLifecycle,
    ExecutionEvents,
    ExecutionFeedRelay,
    ExecutionStatistics,
    EngineStatusService,
  ],
  exports: [
    ExecutionService,
    ExecutionLifecycle,
    ExecutionEvents,
    ExecutionFeedRelay,
    ExecutionStatistics,
    EngineStatusService,
  ],
})
export class ExecutionModule {}
