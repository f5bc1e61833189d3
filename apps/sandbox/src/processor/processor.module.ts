import { Module } from '@nestjs/common';
import { ProcessorDefinitionService } from './processor-definition.service';

/** Processor definitions from the backend. The backend client is global. */
@Module({
  providers: [ProcessorDefinitionService],
  exports: [ProcessorDefinitionService],
})
export class ProcessorModule {}
