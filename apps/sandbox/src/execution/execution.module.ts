import { Module } from '@nestjs/common';
import { ProcessorModule } from '../processor/processor.module';
import { ExecutionController } from './execution.controller';
import { ExecutionEvents } from './execution-events';
import { ExecutionStatistics } from './execution-statistics';
import { ExecutionService } from './execution.service';
import { RuntimeImageService } from './runtime-image.service';

@Module({
  imports: [ProcessorModule],
  controllers: [ExecutionController],
  providers: [ExecutionService, ExecutionEvents, ExecutionStatistics, RuntimeImageService],
  exports: [ExecutionService, ExecutionEvents, ExecutionStatistics, RuntimeImageService],
})
export class ExecutionModule {}
