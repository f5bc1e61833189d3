import type { AdjustmentPage, AdjustmentRecord, AdjustmentStatus } from '@brain-net/store';

/** What accept() came to: the adjustment stored under the id, and whether it was there already. */
export interface AcceptedAdjustment {
  /** The new record, or the one an earlier accept stored under its id, as it stands now. */
  readonly record: AdjustmentRecord;
  /** True when an earlier accept stored it: nothing new is delivered. */
  readonly replayed: boolean;
}

/**
 * Port: where adjustments wait for their delivery to the backend, are delivered (with
 * retries), and can be read from. One machine: SQLite and a poller (SqliteAdjustmentOutbox);
 * cluster mode: a BullMQ queue every instance shares (BullmqAdjustmentOutbox). Adapters
 * hold data and deliver; what the service answers is decided by AdjustmentService.
 */
export abstract class AdjustmentOutbox {
  /**
   * Stores the pending adjustment and starts its delivery, unless one with its id exists
   * (on any instance): then that one is answered, replayed, and nothing new is delivered.
   * An Idempotency-Key gives a repeated request the same id (AdjustmentService).
   */
  abstract accept(record: AdjustmentRecord): Promise<AcceptedAdjustment>;
  abstract get(id: string): Promise<AdjustmentRecord | undefined>;
  /** Newest first; one tenant's, or every tenant's when `tenant` is null. */
  abstract list(offset: number, limit: number, tenant: string | null): Promise<AdjustmentPage>;
  abstract countByStatus(): Promise<Record<AdjustmentStatus, number>>;
}
