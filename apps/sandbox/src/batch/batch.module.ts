import { Module } from '@nestjs/common';
import { ExecutionModule } from '../execution/execution.module';
import { BatchController } from './batch.controller';
import { BatchService } from './batch.service';

@Module({
  imports: [ExecutionModule],
  controllers: [BatchController],
  providers: [BatchService],
})
export class BatchModule {}
