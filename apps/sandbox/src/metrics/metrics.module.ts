import { Global, Module } from '@nestjs/common';
import { ExecutionModule } from '../execution/execution.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** Global so that any feature can count what it does. */
@Global()
@Module({
  imports: [ExecutionModule],
  controllers: [MetricsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
