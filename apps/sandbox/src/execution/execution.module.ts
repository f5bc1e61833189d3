import { Module } from '@nestjs/common';
import { ProcessorModule } from '../processor/processor.module';
import { ExecutionController } from './execution.controller';
import { ExecutionEvents } from './execution-events';
import { ExecutionStatistics } from './execution-statistics';
import { ExecutionService } from './execution.service';
import { ExecutionAdmission } from './execution-admission';
import { ExecutionLifecycle } from './execution-lifecycle';
import { EngineStatusService } from './engine-status.service';

@Module({
  imports: [ProcessorModule],
  controllers: [ExecutionController],
  providers: [
    ExecutionService,
    ExecutionAdmission,
    ExecutionLifecycle,
    ExecutionEvents,
    ExecutionStatistics,
    EngineStatusService,
  ],
  exports: [ExecutionService, ExecutionEvents, ExecutionStatistics, EngineStatusService],
})
export class ExecutionModule {}
