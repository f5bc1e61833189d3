import type { ExecutionRecord, ExecutionStore } from '@brain-net/store';

/**
 * Saves execution records to the store. A save the store refuses (disk full, a closed
 * database) is kept in memory, still answerable, and tried again at the next save that
 * works: a failed write never loses a finished result, never throws into a job, and
 * says so through `failure` until the store takes writes again.
 */
export class RecordKeeper {
  private readonly unsaved = new Map<string, ExecutionRecord>();
  private lastFailure: string | null = null;

  constructor(
    private readonly store: ExecutionStore,
    private readonly onFailure: (error: unknown, record: ExecutionRecord) => void,
    /** Records kept at most; past it the oldest kept one is forgotten (and logged). */
    private readonly capacity = 10_000,
  ) {}

  /** Why the last write failed, while writes fail; null when the store takes them. */
  get failure(): string | null {
    return this.lastFailure;
  }

  /** Records the store has not taken yet. */
  get unsavedCount(): number {
    return this.unsaved.size;
  }

  /** True if the store took it; false if it is kept in memory for now. */
  save(record: ExecutionRecord): boolean {
    try {
      this.store.save(record);
    } catch (error: unknown) {
      this.keep(record);
      this.lastFailure = error instanceof Error ? error.message : String(error);
      this.onFailure(error, record);
      return false;
    }
    this.unsaved.delete(record.id);
    this.lastFailure = null;
    this.retryKept();
    return true;
  }

  /** The in-memory copy of a record the store refused, if any. */
  get(id: string): ExecutionRecord | undefined {
    return this.unsaved.get(id);
  }

  private keep(record: ExecutionRecord): void {
    this.unsaved.delete(record.id); // re-inserted last: the newest state, the newest entry
    this.unsaved.set(record.id, record);
    if (this.unsaved.size > this.capacity) {
      const oldest = this.unsaved.keys().next();
      if (!oldest.done) this.unsaved.delete(oldest.value);
    }
  }

  private retryKept(): void {
    for (const [id, record] of this.unsaved) {
      try {
        this.store.save(record);
      } catch {
        return; // still failing: the next save tries again
      }
      this.unsaved.delete(id);
    }
  }
}
