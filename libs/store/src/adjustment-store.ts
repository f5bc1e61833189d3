export const ADJUSTMENT_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type AdjustmentStatus = (typeof ADJUSTMENT_STATUSES)[number];

/** One processor adjustment and the state of its delivery to the backend. */
export interface AdjustmentRecord {
  readonly id: string;
  /** Whose it is: only this tenant (and admins) can see it. */
  readonly tenant: string;
  /** The API key's name or the token's subject that sent it. */
  readonly createdBy: string;
  readonly processorId: string;
  /** The suggested changes: a JSON object's text, exactly as it arrived (and is delivered). */
  readonly adjustments: string;
  readonly reason: string;
  readonly executionId: string | null;
  readonly status: AdjustmentStatus;
  /** Delivery attempts made so far. */
  readonly attempts: number;
  /** What went wrong on the most recent failed attempt. */
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When a pending adjustment may be tried next; null once it is delivered or failed. */
  readonly nextAttemptAt: Date | null;
  readonly deliveredAt: Date | null;
}

export interface AdjustmentPage {
  readonly items: AdjustmentRecord[];
  readonly total: number;
}

/** Where adjustments live, durably. Port: adapters hold data, not decisions. */
export abstract class AdjustmentStore {
  abstract insert(record: AdjustmentRecord): void;
  /** Writes the record's delivery state (status, attempts, errors and times). */
  abstract update(record: AdjustmentRecord): void;
  abstract get(id: string): AdjustmentRecord | undefined;
  /** The tenant's adjustments still pending (neither delivered nor failed). */
  abstract countPending(tenant: string): number;
  /** Newest first; one tenant's, or every tenant's when `tenant` is null. */
  abstract list(offset: number, limit: number, tenant: string | null): AdjustmentPage;
  /** Pending adjustments whose next attempt is at or before `now`, oldest first. */
  abstract due(now: Date, limit: number): AdjustmentRecord[];
  abstract countByStatus(): Record<AdjustmentStatus, number>;
}
