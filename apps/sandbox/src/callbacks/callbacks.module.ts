import { Module } from '@nestjs/common';
import { ExecutionModule } from '../execution/execution.module';
import { CallbacksService } from './callbacks.service';

/**
 * Execution callbacks: delivered by the CallbackOutbox the composition root picks for
 * the mode; this module kicks them when executions finish.
 */
@Module({
  imports: [ExecutionModule],
  providers: [CallbacksService],
  exports: [CallbacksService],
})
export class CallbacksModule {}
