import type { ExecutionRecord } from '@brain-net/store';
import { ExecutionStore } from '@brain-net/store';
import { RecordKeeper } from './record-keeper';

/** A store that keeps what it is given, and refuses every write while `broken`. */
class FlakyStore extends ExecutionStore {
  broken = false;
  readonly saved = new Map<string, ExecutionRecord>();

  save(record: ExecutionRecord): void {
    if (this.broken) throw new Error('database or disk is full');
    this.saved.set(record.id, { ...record });
  }
  create(): void {}
  findByIdempotencyKey(): undefined {
    return undefined;
  }
  get(id: string): ExecutionRecord | undefined {
    return this.saved.get(id);
  }
  input(): undefined {
    return undefined;
  }
  list() {
    return { items: [], total: 0 };
  }
  closeUnfinished(): number {
    return 0;
  }
}

const record = (id: string, status: ExecutionRecord['status'] = 'completed') =>
  ({ id, status }) as ExecutionRecord;

describe('RecordKeeper', () => {
  let store: FlakyStore;
  let failures: string[];
  let keeper: RecordKeeper;

  beforeEach(() => {
    store = new FlakyStore();
    failures = [];
    keeper = new RecordKeeper(store, (_error, failed) => failures.push(failed.id), 2);
  });

  it('saves through to the store while it takes writes', () => {
    expect(keeper.save(record('a'))).toBe(true);
    expect(store.saved.has('a')).toBe(true);
    expect(keeper.failure).toBeNull();
  });

  it('keeps a refused record answerable, reports the failure, and never throws', () => {
    store.broken = true;
    expect(keeper.save(record('a'))).toBe(false);
    expect(keeper.get('a')).toMatchObject({ id: 'a', status: 'completed' });
    expect(keeper.failure).toBe('database or disk is full');
    expect(failures).toEqual(['a']);
  });

  it('hands kept records to the store at the next save that works', () => {
    store.broken = true;
    keeper.save(record('a'));
    keeper.save(record('b'));
    store.broken = false;
    keeper.save(record('c'));
    expect([...store.saved.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(keeper.unsavedCount).toBe(0);
    expect(keeper.failure).toBeNull();
  });

  it('holds at most its capacity, forgetting the oldest first', () => {
    store.broken = true;
    ['a', 'b', 'c'].forEach((id) => keeper.save(record(id)));
    expect(keeper.get('a')).toBeUndefined();
    expect(keeper.get('c')).toBeDefined();
    expect(keeper.unsavedCount).toBe(2);
  });
});
