import { Module } from '@nestjs/common';
import { ExecutionModule } from '../execution/execution.module';
import { DebugController } from './debug.controller';
import { DebugService } from './debug.service';

@Module({
  imports: [ExecutionModule],
  controllers: [DebugController],
  providers: [DebugService],
})
export class DebugModule {}
