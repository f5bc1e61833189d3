import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import type { AdjustmentRecord } from './adjustment-store';
import type { ExecutionInput, ExecutionRecord } from './execution-record';
import { LocalFileStore } from './files/local-file-store';
import { MIGRATIONS, migrate } from './migrations';
import { SqliteCallbackStore } from './callbacks/sqlite-callback-store';
import { SqliteAdjustmentStore } from './sqlite-adjustment-store';
import { SqliteDatabase } from './sqlite-database';
import { SqliteExecutionStore } from './sqlite-execution-store';
import { StoreOptions } from './store-options';
import {
  RUN_SETTINGS,
  queuedRecord,
  record,
  withoutRunSettings,
} from './testing/execution-records';

// The first release's schema and writes, copied as they were: the fixture must not
// follow later changes to the code.
const V1_EXECUTIONS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS executions (
    id         TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    status     TEXT NOT NULL,
    record     TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS executions_by_creation ON executions (created_at);
  CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status);
`;
const V1_ADJUSTMENTS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS adjustments (
    id              TEXT PRIMARY KEY,
    processor_id    TEXT NOT NULL,
    adjustments     TEXT NOT NULL,
    reason          TEXT NOT NULL,
    execution_id    TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    next_attempt_at INTEGER,
    delivered_at    INTEGER
  );
  CREATE INDEX IF NOT EXISTS adjustments_by_creation ON adjustments (created_at);
  CREATE INDEX IF NOT EXISTS adjustments_by_due_time ON adjustments (status, next_attempt_at);
`;
const V1_UPSERT_EXECUTION = `INSERT INTO executions (id, created_at, status, record)
  VALUES (@id, @created_at, @status, @record)
  ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record`;
const V1_INSERT_ADJUSTMENT = `INSERT INTO adjustments (id, processor_id, adjustments, reason,
    execution_id, status, attempts, last_error, created_at, updated_at, next_attempt_at,
    delivered_at)
  VALUES (@id, @processor_id, @adjustments, @reason, @execution_id, @status,
    @attempts, @last_error, @created_at, @updated_at, @next_attempt_at, @delivered_at)`;

/** A record as the first release kept it in memory (Dates), before JSON.stringify. */
interface V1Record {
  id: string;
  requestId: string;
  processorId: string | null;
  code: string;
  inputData: unknown;
  debugMode: boolean;
  timeoutS: number;
  limits: ExecutionRecord['limits'];
  queuedAt: Date;
  status: ExecutionRecord['status'];
  startedAt: Date | null;
  endedAt: Date | null;
  stdout: string;
  stderr: string;
  truncated: { stdout: boolean; stderr: boolean };
  exitCode: number | null;
  error: string | null;
  oomKilled: boolean;
  exceptions: unknown[];
  variablesAfter: Record<string, unknown> | null;
  timings: ExecutionRecord['timings'];
  codeMs: number | null;
  usage: ExecutionRecord['usage'];
  imageId: string | null;
}

const T0 = Date.parse('2025-11-29T10:00:00.000Z');

const completed: V1Record = {
  id: '7c0d7a52-6f1e-4d8e-9a57-2b8f0e3c1a01',
  requestId: 'req-1',
  processorId: 'processor-123',
  code: 'import json\nprint("héllo ✓")\nraise ValueError("bad")\n',
  inputData: { n: 1, nested: { list: [1, 2.5, null, 'x'], flag: true }, text: 'é "q" \\' },
  debugMode: true,
  timeoutS: 30,
  limits: {
    memoryBytes: 268435456,
    cpus: 1,
    pids: 64,
    tmpfsBytes: 67108864,
    openFiles: 256,
    fileSizeBytes: 67108864,
    user: '10001:10001',
  },
  queuedAt: new Date(T0),
  status: 'completed',
  startedAt: new Date(T0 + 123),
  endedAt: new Date(T0 + 4567),
  stdout: 'héllo ✓\n',
  stderr: 'Traceback...\n',
  truncated: { stdout: false, stderr: true },
  exitCode: 1,
  error: 'ValueError: bad',
  oomKilled: false,
  exceptions: [
    {
      type: 'ValueError',
      message: 'bad',
      line: 3,
      frames: [{ file: '<sandbox>', line: 3, function: '<module>', source: 'raise' }],
      cause: {
        type: 'KeyError',
        message: "'k'",
        line: 2,
        frames: [],
        cause: null,
        cause_relation: null,
      },
      cause_relation: 'context',
    },
  ],
  variablesAfter: {
    x: { type: 'int', value: 1, truncated: false },
    f: { type: 'function', repr: '<function f>', truncated: false },
  },
  timings: { queuedMs: 3, containerStartMs: 120, runMs: 4444, totalMs: 4567 },
  codeMs: 12.75,
  usage: { peakMemoryBytes: 9000000, cpuTimeMs: 40 },
  imageId: 'sha256:0123456789abcdef',
};

const queued: V1Record = {
  ...completed,
  id: 'queued-1',
  requestId: 'req-2',
  processorId: null,
  inputData: [],
  // Same millisecond as `completed`: only the row order says which is newer.
  queuedAt: new Date(T0),
  status: 'queued',
  startedAt: null,
  endedAt: null,
  stdout: '',
  stderr: '',
  truncated: { stdout: false, stderr: false },
  exitCode: null,
  error: null,
  exceptions: [],
  variablesAfter: null,
  timings: null,
  codeMs: null,
  usage: null,
  imageId: null,
};

/** Deeper than SQLite's JSON functions go (1000 levels): only JS can convert it. */
const deep: V1Record = {
  ...completed,
  id: 'deep-1',
  requestId: 'req-3',
  queuedAt: new Date(T0 + 1000),
  startedAt: new Date(T0 + 1001),
  endedAt: new Date(T0 + 1999),
  inputData: JSON.parse('['.repeat(1200) + ']'.repeat(1200)) as unknown,
};

/** As the previous release wrote it: no tenant yet. */
const adjustment: Omit<AdjustmentRecord, 'tenant' | 'createdBy'> = {
  id: 'adj-1',
  processorId: 'processor-123',
  // As the first release wrote it: JSON.stringify's text.
  adjustments: '{"parameter_x":"new_value","nested":{"list":[1,2.5,null],"flag":true}}',
  reason: 'Performance improvement',
  executionId: completed.id,
  status: 'pending',
  attempts: 1,
  lastError: 'POST /x answered 503',
  createdAt: new Date(T0 + 10),
  updatedAt: new Date(T0 + 20),
  nextAttemptAt: new Date(T0 + 30),
  deliveredAt: null,
};

/** Writes a file exactly as the first release did: its schema, its upserts, no version. */
function writeV1Database(path: string, records: V1Record[]): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(V1_EXECUTIONS_SCHEMA);
  db.exec(V1_ADJUSTMENTS_SCHEMA);
  const upsert = db.prepare(V1_UPSERT_EXECUTION);
  for (const record of records) {
    upsert.run({
      id: record.id,
      created_at: record.queuedAt.getTime(),
      status: record.status,
      record: JSON.stringify(record),
    });
  }
  db.prepare(V1_INSERT_ADJUSTMENT).run({
    id: adjustment.id,
    processor_id: adjustment.processorId,
    adjustments: adjustment.adjustments,
    reason: adjustment.reason,
    execution_id: adjustment.executionId,
    status: adjustment.status,
    attempts: adjustment.attempts,
    last_error: adjustment.lastError,
    created_at: adjustment.createdAt.getTime(),
    updated_at: adjustment.updatedAt.getTime(),
    next_attempt_at: adjustment.nextAttemptAt?.getTime() ?? null,
    delivered_at: null,
  });
  db.close();
}

/**
 * What the new store must give back for an old record: all of it but the input. Made
 * before tenants and before run settings: the default tenant's, and no settings known.
 */
function migrated(old: V1Record): ExecutionRecord {
  return withoutRunSettings({
    ...queuedRecord({
      id: old.id,
      tenant: 'default',
      createdBy: 'anonymous',
      requestId: old.requestId,
      processorId: old.processorId,
      queuedAt: old.queuedAt,
      debugMode: old.debugMode,
      timeoutS: old.timeoutS,
      limits: old.limits,
    }),
    status: old.status,
    startedAt: old.startedAt,
    endedAt: old.endedAt,
    exitCode: old.exitCode,
    error: old.error,
    stdout: old.stdout,
    stderr: old.stderr,
    truncated: old.truncated,
    oomKilled: old.oomKilled,
    // Old exceptions lack fields the harness added since; they come back as they were.
    exceptions: old.exceptions as ExecutionRecord['exceptions'],
    variablesAfter: old.variablesAfter as ExecutionRecord['variablesAfter'],
    timings: old.timings,
    codeMs: old.codeMs,
    usage: old.usage,
    imageId: old.imageId,
  });
}

// How the store of schema version 5 wrote an execution, copied as it was.
const V5_INSERT_EXECUTION = `INSERT INTO executions (id, tenant, created_by, request_id,
    processor_id, created_at, status, started_at, ended_at, exit_code, error, state,
    bulky_bytes, pruned, idempotency_key, request_fingerprint)
  VALUES (@id, @tenant, @created_by, @request_id, @processor_id, @created_at, @status,
    @started_at, @ended_at, @exit_code, @error, @state, @bulky_bytes, 0, NULL, NULL)`;
const V5_INSERT_PAYLOAD = `INSERT INTO execution_payloads
    (id, stdout, stderr, exceptions_json, variables_json, code, input_json)
  VALUES (@id, @stdout, @stderr, @exceptions_json, @variables_json, @code, @input_json)`;

/** Writes `written` into a file of schema version 5, as that release's store did. */
function writeV5Database(path: string, written: ExecutionRecord): void {
  const db = new Database(path);
  migrate(db, MIGRATIONS.slice(0, 5));
  db.prepare(V5_INSERT_EXECUTION).run({
    id: written.id,
    tenant: written.tenant,
    created_by: written.createdBy,
    request_id: written.requestId,
    processor_id: written.processorId,
    created_at: written.queuedAt.getTime(),
    status: written.status,
    started_at: written.startedAt?.getTime() ?? null,
    ended_at: written.endedAt?.getTime() ?? null,
    exit_code: written.exitCode,
    error: written.error,
    state: JSON.stringify({
      debugMode: written.debugMode,
      timeoutS: written.timeoutS,
      limits: written.limits,
      truncated: written.truncated,
      oomKilled: written.oomKilled,
      timings: written.timings,
      codeMs: written.codeMs,
      usage: written.usage,
      imageId: written.imageId,
    }),
    bulky_bytes: 0,
  });
  db.prepare(V5_INSERT_PAYLOAD).run({
    id: written.id,
    stdout: written.stdout,
    stderr: written.stderr,
    exceptions_json: JSON.stringify(written.exceptions),
    variables_json: JSON.stringify(written.variablesAfter),
    code: 'print(1)',
    input_json: '{}',
  });
  db.close();
}

// How the store of schema version 6 wrote an execution, copied as it was.
const V6_INSERT_EXECUTION = `INSERT INTO executions (id, tenant, created_by, request_id,
    processor_id, created_at, status, started_at, ended_at, exit_code, error, state,
    run_settings, bulky_bytes, pruned, idempotency_key, request_fingerprint)
  VALUES (@id, @tenant, @created_by, @request_id, @processor_id, @created_at, @status,
    @started_at, @ended_at, @exit_code, @error, @state, @run_settings, @bulky_bytes, 0,
    NULL, NULL)`;
const V6_INSERT_PAYLOAD = V5_INSERT_PAYLOAD;

/** Writes `written` and its input into a file of schema version 6, as that release's store did. */
function writeV6Database(
  path: string,
  written: ExecutionRecord,
  input: { code: string; inputJson: string },
): void {
  const db = new Database(path);
  migrate(db, MIGRATIONS.slice(0, 6));
  db.prepare(V6_INSERT_EXECUTION).run({
    id: written.id,
    tenant: written.tenant,
    created_by: written.createdBy,
    request_id: written.requestId,
    processor_id: written.processorId,
    created_at: written.queuedAt.getTime(),
    status: written.status,
    started_at: written.startedAt?.getTime() ?? null,
    ended_at: written.endedAt?.getTime() ?? null,
    exit_code: written.exitCode,
    error: written.error,
    state: JSON.stringify({
      debugMode: written.debugMode,
      timeoutS: written.timeoutS,
      limits: written.limits,
      truncated: written.truncated,
      oomKilled: written.oomKilled,
      timings: written.timings,
      codeMs: written.codeMs,
      usage: written.usage,
      imageId: written.imageId,
    }),
    run_settings: JSON.stringify(written.runSettings),
    bulky_bytes: 0,
  });
  db.prepare(V6_INSERT_PAYLOAD).run({
    id: written.id,
    stdout: written.stdout,
    stderr: written.stderr,
    exceptions_json: JSON.stringify(written.exceptions),
    variables_json: JSON.stringify(written.variablesAfter),
    code: input.code,
    input_json: input.inputJson,
  });
  db.close();
}

// How the store of schema version 7 wrote an execution, copied as it was.
const V7_INSERT_EXECUTION = V6_INSERT_EXECUTION;
const V7_INSERT_PAYLOAD = `INSERT INTO execution_payloads
    (id, stdout, stderr, exceptions_json, variables_json, code, input_json, stdin)
  VALUES (@id, @stdout, @stderr, @exceptions_json, @variables_json, @code, @input_json,
    @stdin)`;

/** Writes `written` and its input into a file of schema version 7, as that release's store did. */
function writeV7Database(path: string, written: ExecutionRecord, input: ExecutionInput): void {
  const db = new Database(path);
  migrate(db, MIGRATIONS.slice(0, 7));
  db.prepare(V7_INSERT_EXECUTION).run({
    id: written.id,
    tenant: written.tenant,
    created_by: written.createdBy,
    request_id: written.requestId,
    processor_id: written.processorId,
    created_at: written.queuedAt.getTime(),
    status: written.status,
    started_at: written.startedAt?.getTime() ?? null,
    ended_at: written.endedAt?.getTime() ?? null,
    exit_code: written.exitCode,
    error: written.error,
    state: JSON.stringify({
      debugMode: written.debugMode,
      timeoutS: written.timeoutS,
      limits: written.limits,
      truncated: written.truncated,
      oomKilled: written.oomKilled,
      timings: written.timings,
      codeMs: written.codeMs,
      usage: written.usage,
      imageId: written.imageId,
    }),
    run_settings: JSON.stringify(written.runSettings),
    bulky_bytes: 0,
  });
  db.prepare(V7_INSERT_PAYLOAD).run({
    id: written.id,
    stdout: written.stdout,
    stderr: written.stderr,
    exceptions_json: JSON.stringify(written.exceptions),
    variables_json: JSON.stringify(written.variablesAfter),
    code: input.code,
    input_json: input.inputJson,
    stdin: input.stdin ?? null,
  });
  db.close();
}

/** Writes `written` into a file of schema version 8, as that release's store did: files, no callback. */
function writeV8Database(path: string, written: ExecutionRecord, input: ExecutionInput): void {
  writeV7Database(path, written, input);
  const db = new Database(path);
  migrate(db, MIGRATIONS.slice(0, 8));
  db.prepare('UPDATE executions SET state = ? WHERE id = ?').run(
    JSON.stringify({
      debugMode: written.debugMode,
      timeoutS: written.timeoutS,
      limits: written.limits,
      truncated: written.truncated,
      oomKilled: written.oomKilled,
      timings: written.timings,
      codeMs: written.codeMs,
      usage: written.usage,
      imageId: written.imageId,
      inputFiles: written.inputFiles,
      outputFiles: written.outputFiles,
    }),
    written.id,
  );
  db.close();
}

describe('migrations', () => {
  let directory: string;
  let databasePath: string;
  let options: StoreOptions;
  const opened: SqliteDatabase[] = [];

  const open = () => {
    const database = new SqliteDatabase(options);
    opened.push(database);
    return database;
  };

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'store-migrations-'));
    databasePath = join(directory, 'sandbox.db');
    options = { databasePath, executionHistoryLimit: 100, maxStoreBytes: 1024 * 1024 * 1024 };
  });

  afterEach(() => {
    for (const database of opened.splice(0)) {
      if (database.connection.open) database.close();
    }
    rmSync(directory, { recursive: true, force: true });
  });

  it('carries every field of the first release’s records and adjustments over', async () => {
    writeV1Database(databasePath, [completed, queued, deep]);

    // SQLite converts the rows; JS parses only the one SQLite cannot.
    const parse = jest.spyOn(JSON, 'parse');
    const database = open();
    expect(parse).toHaveBeenCalledTimes(1);
    parse.mockRestore();
    expect(database.connection.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const executions = new SqliteExecutionStore(database, options);

    for (const old of [completed, queued, deep]) {
      expect(await executions.get(old.id)).toEqual(migrated(old));
      expect(await executions.input(old.id)).toEqual({
        code: old.code,
        inputJson: JSON.stringify(old.inputData),
      });
    }
    expect(await executions.list(0, 10, null)).toEqual({
      total: 3,
      items: [deep, queued, completed].map((old) => {
        const { id, requestId, processorId, queuedAt, status, startedAt, endedAt } = old;
        const { exitCode, error } = old;
        return {
          id,
          tenant: 'default',
          createdBy: 'anonymous',
          requestId,
          processorId,
          queuedAt,
          status,
          startedAt,
          endedAt,
          exitCode,
          error,
          // Made before batches: in none.
          batchId: null,
          batchIndex: null,
        };
      }),
    });

    const adjustments = new SqliteAdjustmentStore(database);
    // Made before tenants: the default tenant's, by the anonymous caller.
    expect(adjustments.get(adjustment.id)).toEqual({
      ...adjustment,
      tenant: 'default',
      createdBy: 'anonymous',
    });
  });

  it('counts the bulky bytes of migrated records as the store does', () => {
    writeV1Database(databasePath, [completed, deep]);
    const database = open();
    const counted = database.connection
      .prepare<[], { id: string; bulky_bytes: number }>('SELECT id, bulky_bytes FROM executions')
      .all();

    const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');
    const expected = (old: V1Record) =>
      utf8(old.code) +
      utf8(JSON.stringify(old.inputData)) +
      utf8(old.stdout) +
      utf8(old.stderr) +
      utf8(JSON.stringify(old.exceptions)) +
      utf8(JSON.stringify(old.variablesAfter));
    expect(counted).toEqual(
      expect.arrayContaining([
        { id: completed.id, bulky_bytes: expected(completed) },
        { id: deep.id, bulky_bytes: expected(deep) },
      ]),
    );
  });

  it('leaves migrated stores working: new records, closing, budget, adjustments', async () => {
    writeV1Database(databasePath, [completed, queued]);
    const database = open();
    const executions = new SqliteExecutionStore(database, options);
    const adjustments = new SqliteAdjustmentStore(database);

    expect(await executions.closeUnfinished(new Date(T0 + 9000), 'restarted')).toBe(1);
    expect(await executions.get(queued.id)).toMatchObject({ status: 'failed', error: 'restarted' });

    const mine = { ...adjustment, tenant: 'default', createdBy: 'anonymous' };
    adjustments.update({ ...mine, status: 'delivered', deliveredAt: new Date(T0 + 40) });
    adjustments.insert({ ...mine, id: 'adj-2', createdAt: new Date(T0 + 50) });
    expect(adjustments.list(0, 10, null).items.map((a) => a.id)).toEqual(['adj-2', 'adj-1']);
    expect(adjustments.countByStatus()).toEqual({ pending: 1, delivered: 1, failed: 0 });
    database.close();

    // Reopened at the current version, with a budget the old records exceed.
    options = { ...options, maxStoreBytes: 1 };
    const reopened = open();
    const store = new SqliteExecutionStore(reopened, options);
    expect(await store.get(completed.id)).toMatchObject({ pruned: true, status: 'completed' });
    expect(await store.input(completed.id)).toBeUndefined();
    expect(new SqliteAdjustmentStore(reopened).get('adj-2')).toBeDefined();
  });

  it('converts a large file in place, without doubling it', async () => {
    const MB = 1024 * 1024;
    const many = Array.from({ length: 300 }, (_, i) => ({
      ...completed,
      id: `e${i}`,
      queuedAt: new Date(T0 + i),
      stdout: 'o'.repeat(MB / 2),
      inputData: { blob: 'i'.repeat(MB / 2) },
    }));
    writeV1Database(databasePath, many);
    const before = statSync(databasePath).size;

    const started = performance.now();
    const database = open();
    const ms = performance.now() - started;
    const wal = statSync(`${databasePath}-wal`).size;
    database.connection.pragma('wal_checkpoint(TRUNCATE)');
    const after = statSync(databasePath).size;

    expect(after).toBeLessThan(before * 1.1);
    expect(await new SqliteExecutionStore(database, options).get('e299')).toEqual(
      migrated(many[299]),
    );
    console.log(
      `migration of 300 records of 1 MB: ${ms.toFixed(0)} ms; file ` +
        `${(before / MB).toFixed(0)} MB before, ${(after / MB).toFixed(0)} MB after ` +
        `(log ${(wal / MB).toFixed(0)} MB at its peak)`,
    );
  });

  it('indexes the pending adjustments of a version 4 file by tenant, keeping its rows', () => {
    const db = new Database(databasePath);
    migrate(db, MIGRATIONS.slice(0, 4));
    const insert = db.prepare(
      `INSERT INTO adjustments (id, tenant, created_by, processor_id, adjustments, reason,
         execution_id, status, attempts, last_error, created_at, updated_at, next_attempt_at,
         delivered_at)
       VALUES (?, ?, 'key', 'processor-123', '{"a":1}', 'why', NULL, ?, 0, NULL, ?, ?, ?, NULL)`,
    );
    insert.run('p1', 'tenant-a', 'pending', T0, T0, T0);
    insert.run('p2', 'tenant-a', 'pending', T0 + 1, T0 + 1, T0 + 1);
    insert.run('d1', 'tenant-a', 'delivered', T0 + 2, T0 + 2, null);
    insert.run('p3', 'tenant-b', 'pending', T0 + 3, T0 + 3, T0 + 3);
    db.close();

    const database = open();
    expect(database.connection.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const index = database.connection
      .prepare<[], string>(
        "SELECT name FROM sqlite_master WHERE name = 'adjustments_pending_by_tenant'",
      )
      .pluck()
      .all();
    expect(index).toEqual(['adjustments_pending_by_tenant']);
    const adjustments = new SqliteAdjustmentStore(database);
    expect(adjustments.countPending('tenant-a')).toBe(2);
    expect(adjustments.countPending('tenant-b')).toBe(1);
    expect(adjustments.get('p1')).toMatchObject({ adjustments: '{"a":1}', status: 'pending' });
  });

  it('reads a version 5 file’s executions with run settings unknown; new ones keep theirs', async () => {
    const older = withoutRunSettings(record('older', 'completed'));
    writeV5Database(databasePath, older);

    const database = open();
    expect(database.connection.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const executions = new SqliteExecutionStore(database, options);
    const read = await executions.get(older.id);
    expect(read).toEqual(older);
    // Not today's settings: none at all.
    expect(read).not.toHaveProperty('runSettings');

    const newer = record('newer', 'queued', 1);
    await executions.create(newer, { code: 'print(2)', inputJson: '{}' });
    // Written once, at creation: a save cannot take them away.
    await executions.save({ ...record('newer', 'completed', 1), runSettings: undefined });
    expect((await executions.get(newer.id))?.runSettings).toEqual(RUN_SETTINGS);
  });

  it('reads a version 6 file’s inputs as given no stdin; new ones keep theirs', async () => {
    const older = record('older', 'running');
    const olderInput = { code: 'print(input())', inputJson: '{"n":1}' };
    writeV6Database(databasePath, older, olderInput);

    const database = open();
    expect(database.connection.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const executions = new SqliteExecutionStore(database, options);
    expect(await executions.get(older.id)).toEqual(older);
    const read = await executions.input(older.id);
    expect(read).toEqual(olderInput);
    expect(read).not.toHaveProperty('stdin');
    // Its row takes a save as before: the output is counted, the input left as it was.
    expect(await executions.save(record('older', 'completed'))).toBe(true);
    expect(await executions.input(older.id)).toEqual(olderInput);

    const newer = record('newer', 'queued', 1);
    const newerInput = { ...olderInput, stdin: 'first\nsecond\n' };
    await executions.create(newer, newerInput);
    expect(await executions.input(newer.id)).toEqual(newerInput);
  });

  it('puts the executions of a version 9 file in no batch, and lists new batches in order', async () => {
    const older = record('older', 'completed');
    writeV8Database(databasePath, older, { code: 'print(1)', inputJson: '{}' });
    const v9 = new Database(databasePath);
    migrate(v9, MIGRATIONS.slice(0, 9));
    v9.close();

    const database = open();
    expect(database.connection.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const executions = new SqliteExecutionStore(database, options);
    expect(await executions.get(older.id)).toMatchObject({ batchId: null, batchIndex: null });
    for (const index of [1, 0]) {
      const item = {
        ...record(`item-${index}`, 'queued', 10 - index),
        batchId: 'b',
        batchIndex: index,
      };
      await executions.create(item, { code: 'print(1)', inputJson: '{}' });
    }
    const batch = await executions.list(0, 10, older.tenant, { batchId: 'b' });
    expect(batch.items.map((item) => item.id)).toEqual(['item-0', 'item-1']);
    expect((await executions.list(0, 10, older.tenant)).total).toBe(3);
  });

  it('gives a version 7 file an empty files table, keeping its executions', async () => {
    const older = record('older', 'completed');
    const olderInput = { code: 'print(input())', inputJson: '{}', stdin: 'line\n' };
    writeV7Database(databasePath, older, olderInput);

    const database = open();
    expect(database.connection.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const executions = new SqliteExecutionStore(database, options);
    expect(await executions.get(older.id)).toEqual(older);
    expect(await executions.input(older.id)).toEqual(olderInput);
    const count = database.connection.prepare<[], number>('SELECT count(*) FROM files').pluck();
    expect(count.get()).toBe(0);

    // Files of the execution the old file holds are kept: its record is there, unpruned.
    const files = new LocalFileStore(database, { directory: join(directory, 'files') });
    const saved = await files.save({
      tenant: older.tenant,
      name: 'out.txt',
      mediaType: 'text/plain',
      owner: { kind: 'execution', executionId: older.id },
      content: Readable.from([Buffer.from('out')]),
      maxBytes: 1024,
      expiresAt: null,
    });
    expect(await files.sweep(new Date())).toBe(0);
    expect(await files.get(older.tenant, saved.id)).toEqual(saved);
    expect(count.get()).toBe(1);
  });

  it('gives a version 8 file an empty callbacks table; its executions have no callback', async () => {
    const older = {
      ...record('older', 'completed'),
      inputFiles: [{ path: 'in.csv', fileId: 'file_a', size: 3 }],
    };
    writeV8Database(databasePath, older, { code: 'print(1)', inputJson: '{}' });

    const database = open();
    expect(database.connection.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const executions = new SqliteExecutionStore(database, options);
    expect(await executions.get(older.id)).toEqual({ ...older, callbackUrl: null });
    const callbacks = new SqliteCallbackStore(database);
    expect(callbacks.get(older.id)).toBeUndefined();
    const expected = {
      executionId: older.id,
      tenant: older.tenant,
      url: 'https://hooks.example.org/a',
      status: 'waiting' as const,
      attempts: 0,
      lastError: null,
      deliveredAt: null,
      createdAt: new Date(T0),
      nextAttemptAt: new Date(T0),
    };
    callbacks.insert(expected);
    expect(callbacks.due(new Date(T0), 10)).toEqual([expected]);
  });

  it('creates the current schema on a new file, with incremental auto-vacuum', () => {
    const database = open();
    expect(database.connection.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(database.connection.pragma('auto_vacuum', { simple: true })).toBe(2);
    expect(database.connection.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('refuses a file written by a newer release', () => {
    const db = new Database(databasePath);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => open()).toThrow(
      new RegExp(`schema version ${MIGRATIONS.length + 1}.*newer release`),
    );
  });

  it('applies each migration in a transaction: a failing one leaves its version unapplied', () => {
    const db = new Database(databasePath);
    const failing = {
      name: 'fails half-way',
      up: (target: Database.Database) => {
        target.exec('CREATE TABLE half (x)');
        throw new Error('broken migration');
      },
    };
    expect(() => migrate(db, [MIGRATIONS[0], failing])).toThrow('broken migration');
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    const tables = db
      .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    expect(tables).toEqual(['adjustments', 'executions']);
    db.close();
  });
});
