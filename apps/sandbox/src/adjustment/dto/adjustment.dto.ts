import { ApiProperty } from '@nestjs/swagger';
import { ADJUSTMENT_STATUSES, AdjustmentRecord, AdjustmentStatus } from '@brain-net/store';

/** Answer of POST /adjust-processor: stored, delivery under way. */
export class AdjustmentAcceptedDto {
  /** @example "0d6f3c52-7a8e-4f0b-9d55-2b7f7b1e8c90" */
  adjustment_id!: string;
  @ApiProperty({ enum: ADJUSTMENT_STATUSES, example: 'pending' })
  status!: AdjustmentStatus;
}

/** An adjustment and the state of its delivery to the backend. */
export class AdjustmentDto {
  /** Also the Idempotency-Key of every delivery attempt. */
  adjustment_id!: string;
  /** @example "processor-123" */
  processor_id!: string;
  /** @example {"parameter_x": "new_value", "optimization": "enabled"} */
  adjustments!: Record<string, unknown>;
  /** @example "Performance improvement based on execution results" */
  reason!: string;
  execution_id!: string | null;
  /** pending: being delivered (or waiting for a retry); delivered; failed: given up. */
  @ApiProperty({ enum: ADJUSTMENT_STATUSES, example: 'delivered' })
  status!: AdjustmentStatus;
  /** Delivery attempts made so far. @example 1 */
  @ApiProperty({ type: 'integer' })
  attempts!: number;
  /** What went wrong on the most recent failed attempt. @example null */
  last_error!: string | null;
  /** When the adjustment was accepted (ISO 8601). */
  @ApiProperty({ type: String, format: 'date-time' })
  created_at!: string;
  /** When its delivery state last changed (ISO 8601). */
  @ApiProperty({ type: String, format: 'date-time' })
  updated_at!: string;
  /**
   * When the next attempt is due, while pending (ISO 8601). In cluster mode, after a failed
   * attempt: its start plus the backoff, so up to BACKEND_TIMEOUT_MS early.
   */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  next_attempt_at!: string | null;
  /** When the backend took it (ISO 8601). */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  delivered_at!: string | null;
}

export class AdjustmentListDto {
  items!: AdjustmentDto[];
  /** All stored adjustments (in cluster mode: those kept, see the history limit). */
  @ApiProperty({ type: 'integer' })
  total!: number;
  @ApiProperty({ type: 'integer' })
  page!: number;
  @ApiProperty({ type: 'integer' })
  limit!: number;
}

export function toAdjustmentDto(record: AdjustmentRecord): AdjustmentDto {
  return {
    adjustment_id: record.id,
    processor_id: record.processorId,
    adjustments: JSON.parse(record.adjustments) as Record<string, unknown>,
    reason: record.reason,
    execution_id: record.executionId,
    status: record.status,
    attempts: record.attempts,
    last_error: record.lastError,
    created_at: record.createdAt.toISOString(),
    updated_at: record.updatedAt.toISOString(),
    next_attempt_at: record.nextAttemptAt?.toISOString() ?? null,
    delivered_at: record.deliveredAt?.toISOString() ?? null,
  };
}
