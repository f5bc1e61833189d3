import type { ExecutionRecord, ExecutionStore } from '@brain-net/store';

/**
 * How a save went: `stored`; `kept` in memory (the store failed); or `too-late`: the
 * stored record had ended already (closed elsewhere first), or is gone.
 */
export type SaveOutcome = 'stored' | 'kept' | 'too-late';

/**
 * Saves execution records to the store, one record's saves in the order they were asked
 * for. A save the store refuses (disk full, a closed database, Redis away) is kept in
 * memory, still answerable, and tried again at the next save that works: a failed write
 * never loses a finished result, never throws into a job, and says so through `failure`
 * until the store takes writes again.
 */
export class RecordKeeper {
  private readonly unsaved = new Map<string, ExecutionRecord>();
  /** The last save asked for, per record: the next one waits for it. */
  private readonly writing = new Map<string, Promise<SaveOutcome>>();
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

  /** Never rejects. */
  async save(record: ExecutionRecord): Promise<SaveOutcome> {
    const before = this.writing.get(record.id) ?? Promise.resolve('stored');
    const write = before.then(() => this.write(record));
    this.writing.set(record.id, write);
    try {
      return await write;
    } finally {
      if (this.writing.get(record.id) === write) this.writing.delete(record.id);
    }
  }

  /** Tries the kept records again (the store may be back); true once none is kept. */
  async flush(): Promise<boolean> {
    if (this.unsaved.size === 0) return true;
    await this.retryKept();
    if (this.unsaved.size === 0) this.lastFailure = null;
    return this.unsaved.size === 0;
  }

  /** The in-memory copy of a record the store refused, if any. */
  get(id: string): ExecutionRecord | undefined {
    return this.unsaved.get(id);
  }

  private async write(record: ExecutionRecord): Promise<SaveOutcome> {
    let saved: boolean;
    try {
      saved = await this.store.save(record);
    } catch (error: unknown) {
      this.keep(record);
      this.lastFailure = error instanceof Error ? error.message : String(error);
      this.onFailure(error, record);
      return 'kept';
    }
    this.unsaved.delete(record.id);
    this.lastFailure = null;
    await this.retryKept();
    return saved ? 'stored' : 'too-late';
  }

  private keep(record: ExecutionRecord): void {
    this.unsaved.delete(record.id); // re-inserted last: the newest state, the newest entry
    this.unsaved.set(record.id, record);
    if (this.unsaved.size > this.capacity) {
      const oldest = this.unsaved.keys().next();
      if (!oldest.done) this.unsaved.delete(oldest.value);
    }
  }

  private async retryKept(): Promise<void> {
    for (const [id, record] of [...this.unsaved]) {
      try {
        await this.store.save(record);
      } catch {
        return; // still failing: the next save tries again
      }
      if (this.unsaved.get(id) === record) this.unsaved.delete(id);
    }
  }
}
