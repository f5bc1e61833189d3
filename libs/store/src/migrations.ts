import Database from 'better-sqlite3';

/**
 * One step of the schema. Its version is its position in MIGRATIONS plus one; `up` runs
 * in the same transaction that records that version in `PRAGMA user_version`. A shipped
 * migration is never edited: its SQL is frozen text, not built from today's constants.
 */
export interface Migration {
  readonly name: string;
  readonly up: (db: Database.Database) => void;
}

/**
 * The schema of the first release, which ran it at every start and never set
 * user_version: on its files (version 0, tables present) this changes nothing.
 */
const INITIAL_SCHEMA = `
  CREATE TABLE IF NOT EXISTS executions (
    id         TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    status     TEXT NOT NULL,
    record     TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS executions_by_creation ON executions (created_at);
  CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status);

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

/*
 * Each execution is one row of `executions` (what lists, budgets and lookups read, a
 * few hundred bytes) and one of `execution_payloads` (its bulky fields). Apart, closing
 * or saving a record never rewrites its input (SQLite rewrites a whole row on UPDATE),
 * listing walks a small dense table, and pruning deletes one payload row. Times are
 * epoch milliseconds; `bulky_bytes` is the payload's size in UTF-8 bytes.
 */
const EXECUTIONS_V2 = `
  CREATE TABLE executions (
    id           TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL,
    processor_id TEXT,
    created_at   INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN
                   ('queued', 'running', 'completed', 'failed', 'timeout', 'cancelled')),
    started_at   INTEGER,
    ended_at     INTEGER,
    exit_code    INTEGER,
    error        TEXT,
    state        TEXT NOT NULL,
    bulky_bytes  INTEGER NOT NULL,
    pruned       INTEGER NOT NULL CHECK (pruned IN (0, 1))
  );
  -- Output before input: records are read more often than inputs, and a read stops at
  -- the last column it needs.
  CREATE TABLE execution_payloads (
    id              TEXT PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
    stdout          TEXT NOT NULL,
    stderr          TEXT NOT NULL,
    exceptions_json TEXT NOT NULL,
    variables_json  TEXT,
    code            TEXT NOT NULL,
    input_json      TEXT NOT NULL
  );
`;

// An index on created_at holds the rowid too: it serves ORDER BY created_at, rowid.
const EXECUTIONS_V2_INDEXES = `
  CREATE INDEX executions_by_creation ON executions (created_at);
  CREATE INDEX executions_by_status ON executions (status);
  CREATE INDEX executions_prunable ON executions (created_at)
    WHERE pruned = 0 AND status IN ('completed', 'failed', 'timeout', 'cancelled');
`;

const SUMMARY_COLUMNS = `rowid, id, request_id, processor_id, created_at, status, started_at,
  ended_at, exit_code, error, state, bulky_bytes, pruned`;
const PAYLOAD_COLUMNS = 'id, stdout, stderr, exceptions_json, variables_json, code, input_json';

/** The old record's ISO date as epoch milliseconds (NULL stays NULL). */
const epochMs = (path: string) =>
  `CAST(round(unixepoch(record ->> '${path}', 'subsec') * 1000) AS INTEGER)`;

/*
 * One old row converted by SQLite's JSON functions, nothing of it passing through JS.
 * `->` yields JSON text (json_object keeps it as JSON), `->>` the SQL value. A row whose
 * JSON SQLite refuses (nested deeper than its limit of 1000) is left to copyInJs.
 * bulky_bytes is filled in once every payload is in.
 */
const COPY_SUMMARY_IN_SQL = `
  INSERT INTO executions (${SUMMARY_COLUMNS})
  SELECT rowid, id, record ->> '$.requestId', record ->> '$.processorId', created_at, status,
    ${epochMs('$.startedAt')}, ${epochMs('$.endedAt')}, record ->> '$.exitCode',
    record ->> '$.error',
    json_object(
      'debugMode', record -> '$.debugMode',
      'timeoutS', record -> '$.timeoutS',
      'limits', record -> '$.limits',
      'truncated', record -> '$.truncated',
      'oomKilled', record -> '$.oomKilled',
      'timings', record -> '$.timings',
      'codeMs', record -> '$.codeMs',
      'usage', record -> '$.usage',
      'imageId', record -> '$.imageId'
    ),
    0, 0
  FROM executions_v1 WHERE rowid = ? AND json_valid(record)
`;

const COPY_PAYLOAD_IN_SQL = `
  INSERT INTO execution_payloads (${PAYLOAD_COLUMNS})
  SELECT id, record ->> '$.stdout', record ->> '$.stderr', record -> '$.exceptions',
    nullif(record -> '$.variablesAfter', 'null'), record ->> '$.code', record -> '$.inputData'
  FROM executions_v1 WHERE rowid = ?
`;

// octet_length of a column reads its size from the row header, not its text.
const COUNT_BULKY_BYTES = `
  UPDATE executions SET bulky_bytes = (
    SELECT octet_length(stdout) + octet_length(stderr) + octet_length(exceptions_json)
      + coalesce(octet_length(variables_json), 0) + octet_length(code) + octet_length(input_json)
    FROM execution_payloads WHERE execution_payloads.id = executions.id
  )
`;

/** The fields of a record as the first release wrote it with JSON.stringify. */
interface LegacyRecord {
  readonly requestId: string;
  readonly processorId: string | null;
  readonly code: string;
  readonly inputData: unknown;
  readonly debugMode: boolean;
  readonly timeoutS: number;
  readonly limits: unknown;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: unknown;
  readonly exitCode: number | null;
  readonly error: string | null;
  readonly oomKilled: boolean;
  readonly exceptions: unknown;
  readonly variablesAfter: unknown;
  readonly timings: unknown;
  readonly codeMs: number | null;
  readonly usage: unknown;
  readonly imageId: string | null;
}

interface LegacyRow {
  readonly id: string;
  readonly created_at: number;
  readonly status: string;
  readonly record: string;
}

const placeholders = (columns: string) =>
  columns
    .split(',')
    .map(() => '?')
    .join(', ');

/** The same conversion as the SQL above, for the rare row only JS can parse. */
function copyInJs(db: Database.Database, rowid: number): void {
  const row = db
    .prepare<[number], LegacyRow>(
      'SELECT id, created_at, status, record FROM executions_v1 WHERE rowid = ?',
    )
    .get(rowid);
  if (!row) return;
  const old = JSON.parse(row.record) as LegacyRecord;
  const state = {
    debugMode: old.debugMode,
    timeoutS: old.timeoutS,
    limits: old.limits,
    truncated: old.truncated,
    oomKilled: old.oomKilled,
    timings: old.timings,
    codeMs: old.codeMs,
    usage: old.usage,
    imageId: old.imageId,
  };
  db.prepare(
    `INSERT INTO executions (${SUMMARY_COLUMNS}) VALUES (${placeholders(SUMMARY_COLUMNS)})`,
  ).run(
    rowid,
    row.id,
    old.requestId,
    old.processorId,
    row.created_at,
    row.status,
    old.startedAt === null ? null : Date.parse(old.startedAt),
    old.endedAt === null ? null : Date.parse(old.endedAt),
    old.exitCode,
    old.error,
    JSON.stringify(state),
    0,
    0,
  );
  db.prepare(
    `INSERT INTO execution_payloads (${PAYLOAD_COLUMNS}) VALUES (${placeholders(PAYLOAD_COLUMNS)})`,
  ).run(
    row.id,
    old.stdout,
    old.stderr,
    JSON.stringify(old.exceptions),
    old.variablesAfter === null ? null : JSON.stringify(old.variablesAfter),
    old.code,
    JSON.stringify(old.inputData),
  );
}

/**
 * Moves every execution from one JSON blob per row to columns. Row by row, each old row
 * deleted as soon as it is copied: the pages it frees hold the next copy, so the file
 * does not double on the way (and JS never holds more than one row, only on the JS path).
 * Rowids are kept: they order records created in the same millisecond.
 */
function splitExecutionRecords(db: Database.Database): void {
  db.exec(`
    ALTER TABLE executions RENAME TO executions_v1;
    DROP INDEX executions_by_creation;
    DROP INDEX executions_by_status;
  `);
  db.exec(EXECUTIONS_V2);
  const rowids = db
    .prepare<[], number>('SELECT rowid FROM executions_v1 ORDER BY rowid')
    .pluck()
    .all();
  const copySummary = db.prepare<[number]>(COPY_SUMMARY_IN_SQL);
  const copyPayload = db.prepare<[number]>(COPY_PAYLOAD_IN_SQL);
  const remove = db.prepare<[number]>('DELETE FROM executions_v1 WHERE rowid = ?');
  for (const rowid of rowids) {
    if (copySummary.run(rowid).changes === 1) copyPayload.run(rowid);
    else copyInJs(db, rowid);
    remove.run(rowid);
  }
  db.exec('DROP TABLE executions_v1');
  db.exec(COUNT_BULKY_BYTES);
  db.exec(EXECUTIONS_V2_INDEXES);
}

/**
 * Every execution and adjustment belongs to a tenant and remembers who made it. Records
 * from before tenants existed were made without authentication: the default tenant's.
 */
const TENANTS = `
  ALTER TABLE executions ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
  ALTER TABLE executions ADD COLUMN created_by TEXT NOT NULL DEFAULT 'anonymous';
  CREATE INDEX executions_by_tenant ON executions (tenant, created_at);
  ALTER TABLE adjustments ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
  ALTER TABLE adjustments ADD COLUMN created_by TEXT NOT NULL DEFAULT 'anonymous';
  CREATE INDEX adjustments_by_tenant ON adjustments (tenant, created_at);
`;

/**
 * A submit may carry an Idempotency-Key: unique within its tenant, with a fingerprint of
 * what was asked, so a retry finds the first execution and a reuse for other work shows.
 */
const IDEMPOTENCY_KEYS = `
  ALTER TABLE executions ADD COLUMN idempotency_key TEXT;
  ALTER TABLE executions ADD COLUMN request_fingerprint TEXT;
  CREATE UNIQUE INDEX executions_by_idempotency_key ON executions (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
`;

/**
 * POST /adjust-processor counts the tenant's pending adjustments: in this index alone,
 * never reading a row (its status lies past the bulky adjustments text).
 */
const PENDING_ADJUSTMENTS_BY_TENANT = `
  CREATE INDEX adjustments_pending_by_tenant ON adjustments (tenant) WHERE status = 'pending';
`;

/**
 * The settings each execution ran with beyond its limits (output cap, network, read-only
 * root), as JSON, written once when it is accepted: a save never rewrites them. Older
 * rows keep NULL: their settings were never recorded, and today's need not be theirs.
 */
const RUN_SETTINGS = `
  ALTER TABLE executions ADD COLUMN run_settings TEXT;
`;

/**
 * What a submit gives the code on stdin, with the rest of its input. Older rows keep
 * NULL: those submits had no stdin.
 */
const STDIN = `
  ALTER TABLE execution_payloads ADD COLUMN stdin TEXT;
`;

/**
 * Files: uploads of a tenant, or files of an execution (execution_id), their bytes kept
 * beside the database (LocalFileStore). No foreign key to executions: a row goes with
 * its bytes, which only a sweep can remove, so the sweep finds files whose execution is
 * gone or pruned. Ids sort in creation order: uploads list by id. The listing index
 * holds the size, so a tenant's usage is summed without reading rows.
 */
const FILES = `
  CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    tenant       TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    media_type   TEXT NOT NULL,
    owner_kind   TEXT NOT NULL CHECK (owner_kind IN ('upload', 'execution')),
    execution_id TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    CHECK ((owner_kind = 'execution') = (execution_id IS NOT NULL))
  );
  CREATE INDEX files_uploads_by_tenant ON files (tenant, id, size) WHERE owner_kind = 'upload';
  CREATE INDEX files_by_execution ON files (execution_id) WHERE execution_id IS NOT NULL;
  CREATE INDEX files_by_expiry ON files (expires_at) WHERE expires_at IS NOT NULL;
`;

/**
 * Execution callbacks on one machine: registered at admission (before the record, so
 * no foreign key), delivered once their execution has finished. The partial index holds
 * the rows not ended yet, by their next look, which is all the poller reads.
 */
const CALLBACKS = `
  CREATE TABLE callbacks (
    execution_id    TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    url             TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('waiting', 'pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    created_at      INTEGER NOT NULL
  );
  CREATE INDEX callbacks_due ON callbacks (next_attempt_at)
    WHERE status IN ('waiting', 'pending');
`;

/** The batch each execution was submitted in, and its place there; a batch reads in order. */
const BATCHES = `
  ALTER TABLE executions ADD COLUMN batch_id TEXT;
  ALTER TABLE executions ADD COLUMN batch_index INTEGER;
  CREATE INDEX executions_by_batch ON executions (batch_id, batch_index)
    WHERE batch_id IS NOT NULL;
`;

export const MIGRATIONS: readonly Migration[] = [
  { name: 'initial schema', up: (db) => db.exec(INITIAL_SCHEMA) },
  { name: 'executions in columns, bulky fields in their own table', up: splitExecutionRecords },
  { name: 'tenants and creators', up: (db) => db.exec(TENANTS) },
  { name: 'idempotency keys of submits', up: (db) => db.exec(IDEMPOTENCY_KEYS) },
  {
    name: 'pending adjustments by tenant',
    up: (db) => db.exec(PENDING_ADJUSTMENTS_BY_TENANT),
  },
  { name: 'settings each execution ran with', up: (db) => db.exec(RUN_SETTINGS) },
  { name: 'stdin of each execution', up: (db) => db.exec(STDIN) },
  { name: 'files', up: (db) => db.exec(FILES) },
  { name: 'execution callbacks', up: (db) => db.exec(CALLBACKS) },
  { name: 'batches', up: (db) => db.exec(BATCHES) },
];

/**
 * Brings the database to the last migration's version, each pending migration in its
 * own immediate transaction (a second process opening the same file waits, then finds
 * the work done). A file from a newer release is refused rather than misread.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): void {
  const userVersion = () => db.pragma('user_version', { simple: true }) as number;
  const found = userVersion();
  if (found > migrations.length) {
    throw new Error(
      `The database has schema version ${found}, but this release knows versions up to ` +
        `${migrations.length}: it was written by a newer release. Run that release, or ` +
        'point DATABASE_PATH at another file.',
    );
  }
  migrations.forEach((migration, index) => {
    const version = index + 1;
    if (version <= found) return;
    db.transaction(() => {
      if (userVersion() >= version) return;
      migration.up(db);
      db.pragma(`user_version = ${version}`);
    }).immediate();
  });
}
