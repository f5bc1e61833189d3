import type { ExecutionRecord } from './execution-record';
import { SqliteDatabase } from './sqlite-database';
import { SqliteExecutionStore } from './sqlite-execution-store';
import { behavesAsAnExecutionStore } from './testing/execution-store-contract';
import { INPUT, T0, heavy, record } from './testing/execution-records';
import { openSqliteStore } from './testing/sqlite-store-fixtures';

describe('SqliteExecutionStore', () => {
  let database: SqliteDatabase;
  let store: SqliteExecutionStore;

  beforeEach(() => ({ database, store } = openSqliteStore()));

  afterEach(() => database.close());

  behavesAsAnExecutionStore(() => store);

  it('gives back what was created and saved, dates included; the input stays as created', async () => {
    const queued = { ...record('a', 'queued'), callbackUrl: 'https://hooks.example.org/a' };
    await store.create(queued, INPUT, null);
    expect(await store.get('a')).toEqual(queued);
    expect(await store.input('a')).toEqual(INPUT);

    const completed: ExecutionRecord = {
      ...record('a', 'completed'),
      callbackUrl: queued.callbackUrl,
      stderr: 'warning: é ✓\n',
      truncated: { stdout: true, stderr: false },
      exitCode: 1,
      error: 'ValueError: bad',
      oomKilled: true,
      exceptions: [
        {
          type: 'ValueError',
          message: 'bad',
          line: 3,
          frames: [{ file: '<sandbox>', line: 3, function: '<module>', source: 'raise' }],
          frames_omitted: 0,
          cause: null,
          cause_relation: null,
        },
      ],
    };
    await store.save(completed);
    expect(await store.get('a')).toEqual(completed);
    expect(await store.input('a')).toEqual(INPUT);
    expect(await store.get('unknown')).toBeUndefined();
    expect(await store.input('unknown')).toBeUndefined();
  });

  it('reads a record for its own tenant only', async () => {
    await store.create(record('own', 'completed'), INPUT);
    expect((await store.get('own', 'tenant-a'))?.id).toBe('own');
    expect((await store.get('own', null))?.id).toBe('own');
    expect(await store.get('own', 'tenant-b')).toBeUndefined();
    expect(await store.get('missing', 'tenant-a')).toBeUndefined();
  });

  it('does not bring back a record the history limit dropped', async () => {
    await store.save(record('never-created', 'completed'));
    expect(await store.get('never-created')).toBeUndefined();
  });

  it('lists summaries only, newest first, paginated, with the total', async () => {
    for (const [i, id] of ['a', 'b', 'c'].entries())
      await store.create(record(id, 'completed', i), INPUT);
    // Same millisecond: the later one is the newer.
    await store.create(record('d', 'running', 2), INPUT, null);

    const page = await store.list(0, 2, null);
    expect(page.items.map((r) => r.id)).toEqual(['d', 'c']);
    expect(page.total).toBe(4);
    expect(Object.keys(page.items[1]).sort()).toEqual(
      [
        'id',
        'tenant',
        'createdBy',
        'requestId',
        'processorId',
        'queuedAt',
        'status',
        'startedAt',
        'endedAt',
        'exitCode',
        'error',
        'batchId',
        'batchIndex',
      ].sort(),
    );
    expect(page.items[1]).toEqual({
      id: 'c',
      tenant: 'tenant-a',
      createdBy: 'key-a',
      requestId: 'request-c',
      processorId: null,
      queuedAt: new Date(T0 + 2),
      status: 'completed',
      startedAt: new Date(T0 + 102),
      endedAt: new Date(T0 + 302),
      exitCode: 0,
      error: null,
      batchId: null,
      batchIndex: null,
    });
    expect((await store.list(2, 2, null)).items.map((r) => r.id)).toEqual(['b', 'a']);
  });

  it('lists one tenant’s executions, or every tenant’s', async () => {
    await store.create(record('a', 'completed', 0), { code: 'x', inputJson: '{}' });
    await store.create(
      { ...record('b', 'completed', 1), tenant: 'tenant-b', createdBy: 'key-b' },
      {
        code: 'x',
        inputJson: '{}',
      },
    );
    await store.create(record('c', 'queued', 2), { code: 'x', inputJson: '{}' });
    const mine = await store.list(0, 10, 'tenant-a');
    expect(mine.items.map((item) => item.id)).toEqual(['c', 'a']);
    expect(mine.total).toBe(2);
    expect((await store.list(0, 10, 'tenant-b')).items).toEqual([
      expect.objectContaining({ id: 'b', tenant: 'tenant-b', createdBy: 'key-b' }),
    ]);
    expect(await store.list(0, 10, 'nobody')).toEqual({ items: [], total: 0 });
    expect((await store.list(0, 10, null)).total).toBe(3);
  });

  it('finds a submit by its tenant and Idempotency-Key, and stores no second one under it', async () => {
    await store.create(record('a', 'queued'), INPUT, { key: 'k-1', fingerprint: 'f-a' });
    await store.create({ ...record('b', 'queued', 1), tenant: 'tenant-b' }, INPUT, {
      key: 'k-1',
      fingerprint: 'f-b',
    });
    expect(await store.findByIdempotencyKey('tenant-a', 'k-1')).toEqual({
      id: 'a',
      fingerprint: 'f-a',
    });
    expect(await store.findByIdempotencyKey('tenant-b', 'k-1')).toEqual({
      id: 'b',
      fingerprint: 'f-b',
    });
    expect(await store.findByIdempotencyKey('tenant-a', 'k-2')).toBeUndefined();
    // A key already claimed stores nothing and names the earlier submit.
    expect(
      await store.create(record('c', 'queued', 2), INPUT, { key: 'k-1', fingerprint: 'f-x' }),
    ).toEqual({ id: 'a', fingerprint: 'f-a' });
    expect(await store.get('c')).toBeUndefined();
  });

  it('closes every unfinished execution as failed in one go, and only those', async () => {
    await store.create(record('done', 'completed'), INPUT, null);
    await store.create(record('waiting', 'queued', 1), INPUT, null);
    await store.create(record('busy', 'running', 2), INPUT, null);
    const endedAt = new Date(T0 + 5000);

    expect(await store.closeUnfinished(endedAt, 'restarted')).toBe(2);

    for (const id of ['waiting', 'busy']) {
      expect(await store.get(id)).toMatchObject({ status: 'failed', endedAt, error: 'restarted' });
    }
    expect(await store.get('done')).toEqual(record('done', 'completed'));
    expect(await store.closeUnfinished(endedAt, 'restarted')).toBe(0);
  });

  it('drops the oldest finished records beyond the history limit, never unfinished ones', async () => {
    database.close();
    ({ database, store } = openSqliteStore({ executionHistoryLimit: 3 }));
    await store.create(record('old-running', 'running', 0), INPUT, null);
    for (const [i, id] of ['f1', 'f2', 'f3'].entries())
      await store.create(record(id, 'completed', i + 1), INPUT);
    await store.create(record('new', 'queued', 10), INPUT, null);
    const ids = (await store.list(0, 10, null)).items.map((r) => r.id);
    expect(ids).toEqual(['new', 'f3', 'f2', 'old-running']);
  });

  describe('with a budget for bulky fields', () => {
    const KB = 1024;

    beforeEach(() => {
      database.close();
      ({ database, store } = openSqliteStore({
        executionHistoryLimit: 100,
        maxStoreBytes: 3.5 * KB,
      }));
    });

    it('prunes the oldest finished records first, keeping their status and times', async () => {
      for (const [i, id] of ['f1', 'f2', 'f3'].entries()) {
        const { record: r, input } = heavy(id, 'completed', i, KB);
        await store.create(r, input);
      }
      const { record: f4, input } = heavy('f4', 'completed', 3, KB);
      await store.create(f4, input);

      expect(await store.get('f1')).toEqual({
        ...record('f1', 'completed', 0),
        stdout: '',
        variablesAfter: null,
        pruned: true,
      });
      expect(await store.input('f1')).toBeUndefined();
      expect(await store.get('f2')).toMatchObject({ pruned: false, stdout: f4.stdout });
      expect(await store.input('f4')).toEqual(input);
    });

    it('counts stdin with the input, and prunes it with the rest', async () => {
      const withStdin = { ...INPUT, stdin: 'é'.repeat(KB) }; // 2 KB in UTF-8
      await store.create(record('f1', 'queued', 0), withStdin);
      await store.save(record('f1', 'completed', 0));
      expect(await store.input('f1')).toEqual(withStdin);
      // 2 KB of stdin, and a save that adds 1 KB of output over the 3.5 KB budget.
      await store.create(record('f2', 'running', 1), INPUT);
      await store.save({ ...record('f2', 'completed', 1), stdout: 'x'.repeat(KB) });
      expect((await store.get('f1'))?.pruned).toBe(false);
      await store.create(record('f3', 'running', 2), INPUT);
      await store.save({ ...record('f3', 'completed', 2), stdout: 'y'.repeat(KB) });

      expect((await store.get('f1'))?.pruned).toBe(true);
      expect(await store.input('f1')).toBeUndefined();
      expect((await store.get('f2'))?.pruned).toBe(false);
    });

    it('never prunes unfinished records, even when they alone exceed the budget', async () => {
      const oldest = heavy('oldest-queued', 'queued', 0, 2 * KB);
      await store.create(oldest.record, oldest.input);
      const running = heavy('running', 'running', 1, 2 * KB);
      await store.create(running.record, running.input);
      const done = heavy('done', 'completed', 2, KB);
      await store.create(done.record, done.input);

      expect((await store.get('done'))?.pruned).toBe(true);
      expect(await store.input('oldest-queued')).toEqual(oldest.input);
      expect(await store.input('running')).toEqual(running.input);

      // Once closed they are finished, and the budget may take them, oldest first.
      await store.closeUnfinished(new Date(T0 + 10), 'restarted');
      expect((await store.get('oldest-queued'))?.pruned).toBe(true);
      expect(await store.get('running')).toMatchObject({ pruned: false, status: 'failed' });
    });

    it('counts the output a save adds, and a late save does not refill a pruned record', async () => {
      const first = heavy('first', 'running', 0, KB);
      await store.create(first.record, first.input);
      const second = heavy('second', 'running', 1, KB);
      await store.create(second.record, second.input);
      const finished = {
        ...first.record,
        status: 'completed' as const,
        stdout: 'x'.repeat(1.5 * KB),
      };
      await store.save(finished);
      expect((await store.get('first'))?.pruned).toBe(false);
      await store.save({ ...second.record, status: 'completed', stdout: 'y'.repeat(1.5 * KB) });

      expect(await store.get('first')).toMatchObject({
        pruned: true,
        stdout: '',
        status: 'completed',
      });
      await store.save(finished);
      expect(await store.get('first')).toMatchObject({ pruned: true, stdout: '' });
      expect((await store.get('second'))?.pruned).toBe(false);
    });

    it('keeps its running total right when a write fails', async () => {
      const a = heavy('a', 'completed', 0, 1.5 * KB);
      await store.create(a.record, a.input);
      // Read as text: better-sqlite3's error may come from another test file's realm.
      const refused = await store.create(a.record, a.input).then(
        () => 'created',
        (error: unknown) => String(error),
      );
      expect(refused).toMatch(/UNIQUE/);
      const b = heavy('b', 'completed', 1, 1.5 * KB);
      await store.create(b.record, b.input);
      expect((await store.get('a'))?.pruned).toBe(false);
    });
  });
});
