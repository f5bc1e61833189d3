import type { ExecutionRecord, ExecutionStatus } from './execution-record';
import { SqliteDatabase } from './sqlite-database';
import { SqliteExecutionStore } from './sqlite-execution-store';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

function record(id: string, status: ExecutionStatus, createdAfterMs = 0): ExecutionRecord {
  const finished = status !== 'queued' && status !== 'running';
  return {
    id,
    requestId: `request-${id}`,
    processorId: null,
    code: 'print(1)',
    inputData: { n: 1 },
    debugMode: true,
    timeoutS: 30,
    limits: {
      memoryBytes: 256 * 1024 * 1024,
      cpus: 1,
      pids: 64,
      tmpfsBytes: 64 * 1024 * 1024,
      openFiles: 256,
      fileSizeBytes: 64 * 1024 * 1024,
      user: '10001:10001',
    },
    queuedAt: new Date(T0 + createdAfterMs),
    status,
    startedAt: status === 'queued' ? null : new Date(T0 + createdAfterMs + 100),
    endedAt: finished ? new Date(T0 + createdAfterMs + 300) : null,
    stdout: '1\n',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    exitCode: finished ? 0 : null,
    error: null,
    oomKilled: false,
    exceptions: [],
    variablesAfter: { x: { type: 'int', value: 1, truncated: false } },
    timings: finished ? { queuedMs: 0, containerStartMs: 100, runMs: 200, totalMs: 300 } : null,
    codeMs: finished ? 1.5 : null,
    usage: finished ? { peakMemoryBytes: 9_000_000, cpuTimeMs: 12 } : null,
    imageId: 'sha256:abc',
  };
}

describe('SqliteExecutionStore', () => {
  let database: SqliteDatabase;
  let store: SqliteExecutionStore;

  beforeEach(() => {
    database = new SqliteDatabase({ databasePath: ':memory:', executionHistoryLimit: 3 });
    store = new SqliteExecutionStore(database, {
      databasePath: ':memory:',
      executionHistoryLimit: 3,
    });
  });

  afterEach(() => database.onApplicationShutdown());

  it('gives back what was saved, dates included, and the latest save wins', () => {
    const queued = record('a', 'queued');
    store.save(queued);
    expect(store.get('a')).toEqual(queued);

    const completed = record('a', 'completed');
    store.save(completed);
    expect(store.get('a')).toEqual(completed);
    expect(store.get('unknown')).toBeUndefined();
  });

  it('lists newest first, paginated, with the total', () => {
    ['a', 'b', 'c'].forEach((id, i) => store.save(record(id, 'completed', i)));
    expect(store.list(0, 2).items.map((r) => r.id)).toEqual(['c', 'b']);
    expect(store.list(2, 2)).toMatchObject({ total: 3, items: [{ id: 'a' }] });
  });

  it('finds the executions that never finished', () => {
    store.save(record('done', 'completed'));
    store.save(record('waiting', 'queued', 1));
    store.save(record('busy', 'running', 2));
    expect(store.unfinished().map((r) => r.id)).toEqual(['waiting', 'busy']);
  });

  it('drops the oldest finished records beyond the history limit, never unfinished ones', () => {
    store.save(record('old-running', 'running', 0));
    ['f1', 'f2', 'f3'].forEach((id, i) => store.save(record(id, 'completed', i + 1)));
    store.save(record('new', 'queued', 10));
    const ids = store.list(0, 10).items.map((r) => r.id);
    expect(ids).toEqual(['new', 'f3', 'f2', 'old-running']);
  });
});
