import { Module } from '@nestjs/common';
import { ExecutionModule } from '../execution/execution.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** GET /metrics; the adjustment outboxes count their deliveries through MetricsService. */
@Module({
  imports: [ExecutionModule],
  controllers: [MetricsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
