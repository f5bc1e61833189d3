import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AdjustmentPage, AdjustmentRecord, AdjustmentStore } from '@brain-net/store';
import { Caller, canSee, listingTenant } from '../auth/caller';
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
  accept(request: AdjustProcessorRequestDto, caller: Caller): AdjustmentRecord {
    const now = new Date();
    const record: AdjustmentRecord = {
      id: randomUUID(),
      tenant: caller.tenant,
      createdBy: caller.subject,
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

  /** The adjustment, if this caller may see it; another tenant's is as unknown as a missing one. */
  get(id: string, caller: Caller): AdjustmentRecord {
    const record = this.store.get(id);
    if (!record || !canSee(caller, record.tenant)) {
      throw new DomainError('ADJUSTMENT_NOT_FOUND', `No adjustment has id ${id}.`);
    }
    return record;
  }

  /** The caller's tenant's adjustments; an admin's: one tenant's, or all. */
  list(page: number, limit: number, caller: Caller, tenant?: string): AdjustmentPage {
    return this.store.list((page - 1) * limit, limit, listingTenant(caller, tenant));
  }
}
