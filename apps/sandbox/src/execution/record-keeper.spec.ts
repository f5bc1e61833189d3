import type { ExecutionRecord } from '@brain-net/store';
import { InMemoryExecutionStore } from '@brain-net/store/testing/in-memory-execution-store';
import { RecordKeeper } from './record-keeper';

const record = (id: string, status: ExecutionRecord['status'] = 'completed') =>
  ({ id, status, tenant: 't' }) as ExecutionRecord;

describe('RecordKeeper', () => {
  let store: InMemoryExecutionStore;
  let failures: string[];
  let keeper: RecordKeeper;

  beforeEach(() => {
    store = new InMemoryExecutionStore();
    failures = [];
    keeper = new RecordKeeper(store, (_error, failed) => failures.push(failed.id), 2);
  });

  /** Records exist once created; a save then replaces them. */
  const created = async (...ids: string[]) => {
    for (const id of ids) await store.create(record(id, 'queued'), { code: '', inputJson: '{}' });
  };

  it('saves through to the store while it takes writes', async () => {
    await created('a');
    expect(await keeper.save(record('a'))).toBe('stored');
    expect((await store.get('a'))?.status).toBe('completed');
    expect(keeper.failure).toBeNull();
  });

  it('keeps a refused record answerable, reports the failure, and never throws', async () => {
    store.broken = true;
    expect(await keeper.save(record('a'))).toBe('kept');
    expect(keeper.get('a')).toMatchObject({ id: 'a', status: 'completed' });
    expect(keeper.failure).toBe('database or disk is full');
    expect(failures).toEqual(['a']);
  });

  it('hands kept records to the store at the next save that works', async () => {
    await created('a', 'b', 'c');
    store.broken = true;
    await keeper.save(record('a'));
    await keeper.save(record('b'));
    store.broken = false;
    await keeper.save(record('c'));
    for (const id of ['a', 'b', 'c']) expect((await store.get(id))?.status).toBe('completed');
    expect(keeper.unsavedCount).toBe(0);
    expect(keeper.failure).toBeNull();
  });

  it('holds at most its capacity, forgetting the oldest first', async () => {
    store.broken = true;
    for (const id of ['a', 'b', 'c']) await keeper.save(record(id));
    expect(keeper.get('a')).toBeUndefined();
    expect(keeper.get('c')).toBeDefined();
    expect(keeper.unsavedCount).toBe(2);
  });

  it('says a save over a record that ended already came too late, and keeps nothing', async () => {
    await created('a');
    await keeper.save(record('a', 'failed'));
    expect(await keeper.save(record('a', 'completed'))).toBe('too-late');
    expect((await store.get('a'))?.status).toBe('failed');
    expect(keeper.get('a')).toBeUndefined();
    expect(keeper.failure).toBeNull();
  });

  it("writes one record's saves in the order they were asked for", async () => {
    await created('a');
    const running = { ...record('a', 'running') };
    const done = record('a', 'completed');
    await Promise.all([keeper.save(running), keeper.save(done)]);
    expect((await store.get('a'))?.status).toBe('completed');
  });
});
