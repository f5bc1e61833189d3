import { Module } from '@nestjs/common';
import { AdjustmentController } from './adjustment.controller';
import { AdjustmentDeliveryService } from './adjustment-delivery.service';
import { AdjustmentService } from './adjustment.service';

/** POST /adjust-processor and its delivery to the backend. Store and client are global. */
@Module({
  controllers: [AdjustmentController],
  providers: [AdjustmentService, AdjustmentDeliveryService],
})
export class AdjustmentModule {}
