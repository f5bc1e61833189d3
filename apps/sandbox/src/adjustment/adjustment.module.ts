import { Module } from '@nestjs/common';
import { AdjustmentController } from './adjustment.controller';
import { AdjustmentService } from './adjustment.service';

/**
 * POST /adjust-processor and reading adjustments. Where they wait and how they are
 * delivered is the AdjustmentOutbox the composition root picks for the mode.
 */
@Module({
  controllers: [AdjustmentController],
  providers: [AdjustmentService],
})
export class AdjustmentModule {}
