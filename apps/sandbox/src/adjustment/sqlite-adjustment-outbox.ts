import {
  AdjustmentPage,
  AdjustmentRecord,
  AdjustmentStatus,
  AdjustmentStore,
} from '@brain-net/store';
import { AdjustmentDeliveryService } from './adjustment-delivery.service';
import { AdjustmentAdmission, AdjustmentOutbox } from './adjustment-outbox';

/**
 * The outbox on one machine: the AdjustmentStore (SQLite) holds the adjustments and
 * their delivery state, AdjustmentDeliveryService polls it and delivers. The store has
 * no Idempotency-Key column: a key makes the id (AdjustmentService), so a repeat finds
 * the first adjustment by its id.
 */
export class SqliteAdjustmentOutbox extends AdjustmentOutbox {
  constructor(
    private readonly store: AdjustmentStore,
    private readonly delivery: AdjustmentDeliveryService,
  ) {
    super();
  }

  accept(record: AdjustmentRecord, maxPending: number): Promise<AdjustmentAdmission> {
    return settle(() => {
      // Look-up, count and insert in one turn of the event loop, on the one process that
      // writes the file: no other accept can come in between.
      const earlier = this.store.get(record.id);
      if (earlier) return { record: earlier, replayed: true };
      const pending = this.store.countPending(record.tenant);
      if (pending >= maxPending) return { refused: 'too-many-pending', pending };
      this.store.insert(record);
      this.delivery.kick();
      return { record, replayed: false };
    });
  }

  get(id: string): Promise<AdjustmentRecord | undefined> {
    return settle(() => this.store.get(id));
  }

  list(offset: number, limit: number, tenant: string | null): Promise<AdjustmentPage> {
    return settle(() => this.store.list(offset, limit, tenant));
  }

  countByStatus(): Promise<Record<AdjustmentStatus, number>> {
    return settle(() => this.store.countByStatus());
  }

  start(): void {
    this.delivery.start();
  }

  stop(): Promise<void> {
    return this.delivery.stop();
  }

  /** The store is the SQLite database's, closed last by the shutdown. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The synchronous store's answer as a promise; what it throws, as a rejection. */
function settle<T>(read: () => T): Promise<T> {
  return new Promise((resolve) => resolve(read()));
}
