import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AdjustmentPage, AdjustmentRecord, AdjustmentStore } from '@brain-net/store';
import { DomainError } from '../errors/domain-error';
import { AdjustmentDeliveryService } from './adjustment-delivery.service';
import { AdjustProcessorRequestDto } from './dto/adjust-processor-request.dto';

/** Accepts processor adjustments for delivery to the backend, and reports on them. */
@Injectable()
export class AdjustmentService {
  constructor(
    private readonly store: AdjustmentStore,
    private readonly delivery: AdjustmentDeliveryService,
  ) {}

  /** Stores the adjustment as pending (durably, before answering) and starts its delivery. */
  accept(request: AdjustProcessorRequestDto): AdjustmentRecord {
    const now = new Date();
    const record: AdjustmentRecord = {
      id: randomUUID(),
      processorId: request.processor_id,
      adjustments: request.adjustments,
      reason: request.reason,
      executionId: request.execution_id ?? null,
      status: 'pending',
      attempts: 0,
      lastError: null,
      createdAt: now,
      updatedAt: now,
      nextAttemptAt: now,
      deliveredAt: null,
    };
    this.store.insert(record);
    this.delivery.kick();
    return record;
  }

  get(id: string): AdjustmentRecord {
    const record = this.store.get(id);
    if (!record) throw new DomainError('ADJUSTMENT_NOT_FOUND', `No adjustment has id ${id}.`);
    return record;
  }

  list(page: number, limit: number): AdjustmentPage {
    return this.store.list((page - 1) * limit, limit);
  }
}
