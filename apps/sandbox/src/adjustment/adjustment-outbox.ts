import type { AdjustmentPage, AdjustmentRecord, AdjustmentStatus } from '@brain-net/store';

/** What accept() came to: the adjustment stored under the id, and whether it was there already. */
export interface AcceptedAdjustment {
  /** The new record, or the one an earlier accept stored under its id, as it stands now. */
  readonly record: AdjustmentRecord;
  /** True when an earlier accept stored it: nothing new is delivered. */
  readonly replayed: boolean;
}

/** What accept() came to: stored (or found), or refused with nothing stored. */
export type AdjustmentAdmission =
  | AcceptedAdjustment
  /** The tenant has `pending` adjustments not yet delivered: the most it may have. */
  | { readonly refused: 'too-many-pending'; readonly pending: number };

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
   * An Idempotency-Key gives a repeated request the same id (AdjustmentService). A new
   * one is refused when its tenant has `maxPending` pending already: counted in one step
   * with the store, on every instance together.
   */
  abstract accept(record: AdjustmentRecord, maxPending: number): Promise<AdjustmentAdmission>;
  abstract get(id: string): Promise<AdjustmentRecord | undefined>;
  /** Newest first; one tenant's, or every tenant's when `tenant` is null. */
  abstract list(offset: number, limit: number, tenant: string | null): Promise<AdjustmentPage>;
  abstract countByStatus(): Promise<Record<AdjustmentStatus, number>>;
  /** Starts delivering, at start-up: every instance delivers, whatever its ROLE. */
  abstract start(): void;
  /** Takes no more adjustments to deliver; resolves once those under way are delivered. */
  abstract stop(): Promise<void>;
  /** Lets go of what it holds (its queue's worker and connections), after stop(). */
  abstract close(): Promise<void>;
}
