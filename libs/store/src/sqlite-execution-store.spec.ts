import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionInput, ExecutionRecord, ExecutionStatus } from './execution-record';
import { SqliteDatabase } from './sqlite-database';
import { SqliteExecutionStore } from './sqlite-execution-store';
import { StoreOptions } from './store-options';
import { behavesAsAnExecutionStore } from './testing/execution-store-contract';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const MB = 1024 * 1024;

function record(id: string, status: ExecutionStatus, createdAfterMs = 0): ExecutionRecord {
  const finished = status !== 'queued' && status !== 'running';
  return {
    id,
    tenant: 'tenant-a',
    createdBy: 'key-a',
    requestId: `request-${id}`,
    processorId: null,
    debugMode: true,
    timeoutS: 30,
    limits: {
      memoryBytes: 256 * MB,
      cpus: 1,
      pids: 64,
      tmpfsBytes: 64 * MB,
      openFiles: 256,
      fileSizeBytes: 64 * MB,
      user: '10001:10001',
    },
    queuedAt: new Date(T0 + createdAfterMs),
    status,
    startedAt: status === 'queued' ? null : new Date(T0 + createdAfterMs + 100),
    endedAt: finished ? new Date(T0 + createdAfterMs + 300) : null,
    stdout: finished ? '1\n' : '',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    exitCode: finished ? 0 : null,
    error: null,
    oomKilled: false,
    exceptions: [],
    variablesAfter: finished ? { x: { type: 'int', value: 1, truncated: false } } : null,
    timings: finished ? { queuedMs: 0, containerStartMs: 100, runMs: 200, totalMs: 300 } : null,
    codeMs: finished ? 1.5 : null,
    usage: finished ? { peakMemoryBytes: 9_000_000, cpuTimeMs: 12 } : null,
    imageId: 'sha256:abc',
    pruned: false,
  };
}

const INPUT: ExecutionInput = { code: 'print(1)', inputJson: '{"n":1}' };

/** A record whose bulky fields (input and stdout) weigh `bytes` in all. */
function heavy(id: string, status: ExecutionStatus, createdAfterMs: number, bytes: number) {
  const half = Math.floor(bytes / 2);
  return {
    record: { ...record(id, status, createdAfterMs), stdout: 'o'.repeat(half), exceptions: [] },
    input: { code: '', inputJson: `"${'i'.repeat(bytes - half - 2)}"` },
  };
}

function open(options: Partial<StoreOptions> = {}) {
  const all: StoreOptions = {
    databasePath: ':memory:',
    executionHistoryLimit: 10,
    maxStoreBytes: 1024 * MB,
    ...options,
  };
  const database = new SqliteDatabase(all);
  return { database, store: new SqliteExecutionStore(database, all) };
}

describe('SqliteExecutionStore', () => {
  let database: SqliteDatabase;
  let store: SqliteExecutionStore;

  beforeEach(() => ({ database, store } = open()));

  afterEach(() => database.onApplicationShutdown());

  behavesAsAnExecutionStore(() => store);

  it('gives back what was created and saved, dates included; the input stays as created', async () => {
    const queued = record('a', 'queued');
    await store.create(queued, INPUT, null);
    expect(await store.get('a')).toEqual(queued);
    expect(await store.input('a')).toEqual(INPUT);

    const completed: ExecutionRecord = {
      ...record('a', 'completed'),
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
    database.onApplicationShutdown();
    ({ database, store } = open({ executionHistoryLimit: 3 }));
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
      database.onApplicationShutdown();
      ({ database, store } = open({ executionHistoryLimit: 100, maxStoreBytes: 3.5 * KB }));
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

  describe('on a file, at scale', () => {
    let directory: string;
    let databasePath: string;

    beforeEach(() => {
      database.onApplicationShutdown();
      directory = mkdtempSync(join(tmpdir(), 'execution-store-'));
      databasePath = join(directory, 'sandbox.db');
    });

    afterEach(() => {
      database.onApplicationShutdown();
      rmSync(directory, { recursive: true, force: true });
    });

    const fileBytes = () => statSync(databasePath).size;

    it('closes 300 unfinished records with 1 MB inputs each', async () => {
      ({ database, store } = open({ databasePath, executionHistoryLimit: 1000 }));
      for (let i = 0; i < 300; i += 1) {
        const r = record(`e${i}`, i % 2 ? 'queued' : 'running', i);
        await store.create(r, { code: 'print(1)', inputJson: `"${'i'.repeat(MB - 2)}"` });
      }

      const started = performance.now();
      expect(await store.closeUnfinished(new Date(T0 + 10_000), 'restarted')).toBe(300);
      const ms = performance.now() - started;

      const page = await store.list(0, 300, null);
      expect(page.items.every((s) => s.status === 'failed' && s.error === 'restarted')).toBe(true);
      console.log(`closeUnfinished over 300 records with 1 MB inputs: ${ms.toFixed(0)} ms`);
    });

    it('lists 1,000 records of 1 MB bulky fields each as summaries', async () => {
      ({ database, store } = open({ databasePath, executionHistoryLimit: 1000 }));
      for (let i = 0; i < 1000; i += 1) {
        const { record: r, input } = heavy(`e${i}`, 'completed', i, MB);
        await store.create(r, input);
      }

      const started = performance.now();
      const page = await store.list(0, 100, null);
      const ms = performance.now() - started;

      expect(page.total).toBe(1000);
      expect(page.items.map((s) => s.id)).toEqual(
        Array.from({ length: 100 }, (_, i) => `e${999 - i}`),
      );
      expect(page.items[0]).not.toHaveProperty('stdout');
      console.log(
        `list(0, 100) over 1,000 records of 1 MB (stdout + input): ${ms.toFixed(1)} ms; ` +
          `file ${(fileBytes() / MB).toFixed(0)} MB`,
      );
    });

    it('holds the file near its budget, and gives pages back when the budget drops', async () => {
      ({ database, store } = open({
        databasePath,
        executionHistoryLimit: 1000,
        maxStoreBytes: 100 * MB,
      }));
      for (let i = 0; i < 1000; i += 1) {
        const { record: r, input } = heavy(`e${i}`, 'completed', i, MB);
        await store.create(r, input);
      }
      const atBudget = fileBytes();
      expect((await store.get('e0'))?.pruned).toBe(true);
      expect((await store.get('e999'))?.pruned).toBe(false);
      // Budget, one record in flight, and a few KB per row.
      expect(atBudget).toBeLessThan(100 * MB + MB + 1000 * 8 * 1024);
      database.onApplicationShutdown();

      ({ database, store } = open({
        databasePath,
        executionHistoryLimit: 1000,
        maxStoreBytes: 10 * MB,
      }));
      const afterCut = fileBytes();
      expect(afterCut).toBeLessThan(10 * MB + 1000 * 8 * 1024);
      expect((await store.list(0, 1000, null)).total).toBe(1000);
      console.log(
        `1,000 records of 1 MB: file ${(atBudget / MB).toFixed(1)} MB at a 100 MB budget, ` +
          `${(afterCut / MB).toFixed(1)} MB after reopening with 10 MB`,
      );
    });
  });
});
