// The port is asynchronous for the Redis adapter; better-sqlite3 answers synchronously.
/* eslint-disable @typescript-eslint/require-await */
import { Injectable } from '@nestjs/common';
import Database from 'better-sqlite3';
import type { HarnessException, HarnessVariable } from '@brain-net/runner';
import {
  ExecutionInput,
  IdempotentRequest,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionSummary,
  MaybeOlder,
  LATER_FIELD_DEFAULTS,
  RunSettings,
} from './execution-record';
import { EarlierSubmit, ExecutionFilter, ExecutionPage, ExecutionStore } from './execution-store';
import { SqliteDatabase } from './sqlite-database';
import { StoreOptions } from './store-options';

/** The small fields without a column of their own, kept as one JSON object. */
type State = Pick<
  ExecutionRecord,
  | 'debugMode'
  | 'timeoutS'
  | 'limits'
  | 'truncated'
  | 'oomKilled'
  | 'timings'
  | 'codeMs'
  | 'usage'
  | 'imageId'
  | 'inputFiles'
  | 'outputFiles'
  | 'callbackUrl'
  | 'sharedContainer'
  | 'figures'
  | 'profileRequested'
  | 'profile'
  | 'runtime'
  | 'moduleHint'
>;

interface SummaryRow {
  id: string;
  tenant: string;
  created_by: string;
  request_id: string;
  processor_id: string | null;
  created_at: number;
  status: ExecutionStatus;
  started_at: number | null;
  ended_at: number | null;
  exit_code: number | null;
  error: string | null;
  batch_id: string | null;
  batch_index: number | null;
}

interface OutputColumns {
  stdout: string;
  stderr: string;
  exceptions_json: string;
  variables_json: string | null;
}

/**
 * A record's columns; its output is null once pruned (no payload row), its run settings
 * null when it was recorded before they were kept (migration 6).
 */
type RecordRow = SummaryRow & { state: string; run_settings: string | null; pruned: 0 | 1 } & {
  [Column in keyof OutputColumns]: OutputColumns[Column] | null;
};

/** An `executions` row but `pruned`; a save leaves created_at and the ids as created. */
type ExecutionRow = SummaryRow & { state: string; bulky_bytes: number };

/**
 * What a new row adds: the run settings, written once (a save leaves them as they are),
 * and the submit's Idempotency-Key and fingerprint, if it had one.
 */
type InsertedRow = ExecutionRow & {
  run_settings: string | null;
  idempotency_key: string | null;
  request_fingerprint: string | null;
};

/**
 * What a listing binds: the criteria (null: not filtered on) and `status0`… for the
 * statuses; a statement reads those of its shape and ignores the others.
 */
type ListingParameters = {
  tenant: string | null;
  processor_id: string | null;
  since: number | null;
  batch_id: string | null;
} & Record<string, string | number | null>;

interface Listing {
  readonly page: Database.Statement<
    [ListingParameters & { limit: number; offset: number }],
    SummaryRow
  >;
  readonly count: Database.Statement<[ListingParameters], number>;
}

const SUMMARY_COLUMNS =
  'id, tenant, created_by, request_id, processor_id, created_at, status, started_at, ended_at, exit_code, error, batch_id, batch_index';
const FINISHED = "status IN ('completed', 'failed', 'timeout', 'cancelled')";
const UNFINISHED = "status IN ('queued', 'running')";

/**
 * Keeps executions in the two tables of migration 2: `executions` (summary columns, the
 * small rest as JSON) and `execution_payloads` (the bulky fields). Up to
 * EXECUTION_HISTORY_LIMIT finished executions (oldest dropped first), and STORE_MAX_MB of
 * bulky fields (the oldest finished ones pruned first). The total of bulky bytes is
 * summed once at start-up and then kept up to date by each write.
 */
@Injectable()
export class SqliteExecutionStore extends ExecutionStore {
  private readonly db: Database.Database;
  private readonly insertSummary: Database.Statement<[InsertedRow]>;
  private readonly selectByIdempotencyKey: Database.Statement<
    [string, string],
    { id: string; request_fingerprint: string }
  >;
  private readonly insertPayload: Database.Statement<
    [OutputColumns & { id: string; code: string; input_json: string; stdin: string | null }]
  >;
  private readonly unfinishedBulkyBytesOf: Database.Statement<[string], number>;
  private readonly updateSummary: Database.Statement<[ExecutionRow]>;
  private readonly updateOutput: Database.Statement<
    [OutputColumns & { id: string; output_bytes: number }],
    number
  >;
  private readonly selectRecord: Database.Statement<
    [{ id: string; tenant: string | null }],
    RecordRow
  >;
  private readonly selectInput: Database.Statement<
    [string],
    { code: string; input_json: string; stdin: string | null }
  >;
  /** A listing's two statements, prepared once per shape of filter (see listingOf). */
  private readonly listings = new Map<string, Listing>();
  private readonly closeAll: Database.Statement<[number, string]>;
  private readonly trim: Database.Statement<[number], number>;
  private readonly selectOldestPrunable: Database.Statement<
    [],
    { id: string; bulky_bytes: number }
  >;
  private readonly deletePayload: Database.Statement<[string]>;
  private readonly markPruned: Database.Statement<[string]>;
  private readonly historyLimit: number;
  private readonly maxBulkyBytes: number;
  private bulkyBytes: number;

  constructor(database: SqliteDatabase, options: StoreOptions) {
    super();
    this.db = database.connection;
    this.historyLimit = options.executionHistoryLimit;
    this.maxBulkyBytes = options.maxStoreBytes;
    const db = this.db;
    this.insertSummary = db.prepare(
      `INSERT INTO executions (${SUMMARY_COLUMNS}, state, run_settings, bulky_bytes, pruned,
         idempotency_key, request_fingerprint)
       VALUES (@id, @tenant, @created_by, @request_id, @processor_id, @created_at, @status,
         @started_at, @ended_at, @exit_code, @error, @batch_id, @batch_index, @state,
         @run_settings, @bulky_bytes, 0, @idempotency_key, @request_fingerprint)`,
    );
    this.selectByIdempotencyKey = db.prepare(
      `SELECT id, request_fingerprint FROM executions WHERE tenant = ? AND idempotency_key = ?`,
    );
    this.insertPayload = db.prepare(
      `INSERT INTO execution_payloads
         (id, stdout, stderr, exceptions_json, variables_json, code, input_json, stdin)
       VALUES (@id, @stdout, @stderr, @exceptions_json, @variables_json, @code, @input_json,
         @stdin)`,
    );
    this.unfinishedBulkyBytesOf = db
      .prepare<[string], number>(
        `SELECT bulky_bytes FROM executions WHERE id = ? AND ${UNFINISHED}`,
      )
      .pluck();
    this.updateSummary = db.prepare(
      `UPDATE executions SET status = @status, started_at = @started_at, ended_at = @ended_at,
         exit_code = @exit_code, error = @error, state = @state, bulky_bytes = @bulky_bytes
       WHERE id = @id`,
    );
    // No payload row once pruned: a late save cannot bring back what the budget took.
    this.updateOutput = db
      .prepare<[OutputColumns & { id: string; output_bytes: number }], number>(
        `UPDATE execution_payloads SET stdout = @stdout, stderr = @stderr,
           exceptions_json = @exceptions_json, variables_json = @variables_json
         WHERE id = @id
         RETURNING octet_length(code) + octet_length(input_json)
           + coalesce(octet_length(stdin), 0) + @output_bytes`,
      )
      .pluck();
    this.selectRecord = db.prepare(
      `SELECT ${SUMMARY_COLUMNS}, state, run_settings, pruned, stdout, stderr, exceptions_json,
         variables_json
       FROM executions LEFT JOIN execution_payloads USING (id)
       WHERE id = @id AND (@tenant IS NULL OR tenant = @tenant)`,
    );
    this.selectInput = db.prepare(
      'SELECT code, input_json, stdin FROM execution_payloads WHERE id = ?',
    );
    this.closeAll = db.prepare(
      `UPDATE executions SET status = 'failed', ended_at = ?, error = ? WHERE ${UNFINISHED}`,
    );
    // Finished records beyond the newest `limit` of all records go (their payloads with
    // them, by the foreign key); unfinished ones stay.
    this.trim = db
      .prepare<[number], number>(
        `DELETE FROM executions WHERE ${FINISHED} AND rowid NOT IN
           (SELECT rowid FROM executions ORDER BY created_at DESC, rowid DESC LIMIT ?)
         RETURNING bulky_bytes`,
      )
      .pluck();
    // The partial index holds exactly these rows, oldest first (the planner, without
    // statistics, would rather take the status index and sort).
    this.selectOldestPrunable = db.prepare(
      `SELECT id, bulky_bytes FROM executions INDEXED BY executions_prunable
       WHERE pruned = 0 AND ${FINISHED}
       ORDER BY created_at, rowid LIMIT 1`,
    );
    this.deletePayload = db.prepare('DELETE FROM execution_payloads WHERE id = ?');
    this.markPruned = db.prepare('UPDATE executions SET pruned = 1, bulky_bytes = 0 WHERE id = ?');

    this.bulkyBytes = db
      .prepare<[], number>('SELECT total(bulky_bytes) FROM executions')
      .pluck()
      .get() as number;
    // The budget may have been lowered since the last run; what that, an upgrade or the
    // last run's deletions freed goes back to the file system now.
    this.write(() => this.enforceBudget());
    database.releaseFreePages();
  }

  async create(
    record: ExecutionRecord,
    input: ExecutionInput,
    idempotency?: IdempotentRequest | null,
  ): Promise<EarlierSubmit | null> {
    const output = outputColumns(record);
    const bulkyBytes =
      utf8Bytes(input.code) +
      utf8Bytes(input.inputJson) +
      utf8Bytes(input.stdin ?? '') +
      outputBytes(output);
    let earlier: EarlierSubmit | undefined;
    this.write(() => {
      earlier = idempotency ? this.earlierSubmit(record.tenant, idempotency.key) : undefined;
      if (earlier) return;
      this.insertSummary.run({
        ...rowOf(record),
        run_settings: record.runSettings ? JSON.stringify(record.runSettings) : null,
        bulky_bytes: bulkyBytes,
        idempotency_key: idempotency?.key ?? null,
        request_fingerprint: idempotency?.fingerprint ?? null,
      });
      this.insertPayload.run({
        id: record.id,
        ...output,
        code: input.code,
        input_json: input.inputJson,
        stdin: input.stdin ?? null,
      });
      this.bulkyBytes += bulkyBytes;
      for (const freed of this.trim.all(this.historyLimit)) this.bulkyBytes -= freed;
      this.enforceBudget();
    });
    return earlier ?? null;
  }

  async save(record: ExecutionRecord): Promise<boolean> {
    const output = outputColumns(record);
    let saved = false;
    this.write(() => {
      const before = this.unfinishedBulkyBytesOf.get(record.id);
      // A finished record stays as it ended; one the history limit dropped stays dropped.
      if (before === undefined) return;
      const after =
        this.updateOutput.get({ id: record.id, ...output, output_bytes: outputBytes(output) }) ?? 0;
      this.updateSummary.run({ ...rowOf(record), bulky_bytes: after });
      this.bulkyBytes += after - before;
      this.enforceBudget();
      saved = true;
    });
    return saved;
  }

  async findByIdempotencyKey(tenant: string, key: string): Promise<EarlierSubmit | undefined> {
    return this.earlierSubmit(tenant, key);
  }

  private earlierSubmit(tenant: string, key: string): EarlierSubmit | undefined {
    const row = this.selectByIdempotencyKey.get(tenant, key);
    return row && { id: row.id, fingerprint: row.request_fingerprint };
  }

  async get(id: string, tenant: string | null = null): Promise<ExecutionRecord | undefined> {
    const row = this.selectRecord.get({ id, tenant });
    if (!row) return undefined;
    return {
      ...summaryOf(row),
      ...LATER_FIELD_DEFAULTS,
      ...(JSON.parse(row.state) as MaybeOlder<State>),
      ...(row.run_settings !== null && {
        runSettings: JSON.parse(row.run_settings) as RunSettings,
      }),
      stdout: row.stdout ?? '',
      stderr: row.stderr ?? '',
      exceptions:
        row.exceptions_json === null ? [] : (JSON.parse(row.exceptions_json) as HarnessException[]),
      variablesAfter:
        row.variables_json === null
          ? null
          : (JSON.parse(row.variables_json) as Record<string, HarnessVariable>),
      pruned: row.pruned === 1,
    };
  }

  async input(id: string): Promise<ExecutionInput | undefined> {
    const row = this.selectInput.get(id);
    if (!row) return undefined;
    const input = { code: row.code, inputJson: row.input_json };
    return row.stdin === null ? input : { ...input, stdin: row.stdin };
  }

  async list(
    offset: number,
    limit: number,
    tenant: string | null,
    filter: ExecutionFilter = {},
  ): Promise<ExecutionPage> {
    const statuses = filter.statuses && [...new Set(filter.statuses)];
    if (statuses?.length === 0) return { items: [], total: 0 };
    const parameters: ListingParameters = {
      tenant,
      processor_id: filter.processorId ?? null,
      since: filter.since?.getTime() ?? null,
      batch_id: filter.batchId ?? null,
      ...Object.fromEntries((statuses ?? []).map((status, i) => [`status${i}`, status])),
    };
    const listing = this.listingOf(parameters, statuses?.length ?? 0);
    return {
      items: listing.page.all({ ...parameters, limit, offset }).map(summaryOf),
      total: listing.count.get(parameters) as number,
    };
  }

  /**
   * The page and count statements of one shape of listing: which criteria it has, and
   * how many statuses (at most 2 × 2 × 2 × 2 × 7 shapes). Each criterion is a plain column
   * comparison the planner can serve from an index: executions_by_tenant (tenant,
   * created_at) or executions_by_creation walk newest first and stop at `since`;
   * executions_by_status narrows a status; executions_by_batch holds a batch in its
   * order. Whatever index it takes, a listing reads the
   * small summary rows only, at most those of the records kept (EXECUTION_HISTORY_LIMIT
   * finished ones and the unfinished), never a payload.
   */
  private listingOf(parameters: ListingParameters, statusCount: number): Listing {
    const where = [
      parameters.tenant !== null && 'tenant = @tenant',
      parameters.processor_id !== null && 'processor_id = @processor_id',
      parameters.since !== null && 'created_at >= @since',
      parameters.batch_id !== null && 'batch_id = @batch_id',
      statusCount > 0 &&
        `status IN (${Array.from({ length: statusCount }, (_, i) => `@status${i}`).join(', ')})`,
    ].filter((condition) => condition !== false);
    const shape = where.join(' AND ');
    let listing = this.listings.get(shape);
    if (!listing) {
      const clause = where.length > 0 ? `WHERE ${shape}` : '';
      listing = {
        // rowid breaks ties between records created in the same millisecond; a batch
        // reads in its own order (executions_by_batch).
        page: this.db.prepare(
          `SELECT ${SUMMARY_COLUMNS} FROM executions ${clause}
           ORDER BY ${parameters.batch_id !== null ? 'batch_index' : 'created_at DESC, rowid DESC'}
           LIMIT @limit OFFSET @offset`,
        ),
        count: this.db
          .prepare<[ListingParameters], number>(`SELECT COUNT(*) FROM executions ${clause}`)
          .pluck(),
      };
      this.listings.set(shape, listing);
    }
    return listing;
  }

  async closeUnfinished(endedAt: Date, error: string): Promise<number> {
    let closed = 0;
    this.write(() => {
      closed = this.closeAll.run(endedAt.getTime(), error).changes;
      // Finished now, so the budget may take their bulky fields.
      this.enforceBudget();
    });
    return closed;
  }

  /** Runs a write in one transaction; the running total is rolled back with it. */
  private write(change: () => void): void {
    const bulkyBefore = this.bulkyBytes;
    try {
      this.db.transaction(change)();
    } catch (error: unknown) {
      this.bulkyBytes = bulkyBefore;
      throw error;
    }
  }

  /** Prunes the oldest finished records until the bulky fields fit the budget. */
  private enforceBudget(): void {
    while (this.bulkyBytes > this.maxBulkyBytes) {
      const oldest = this.selectOldestPrunable.get();
      // Only unfinished executions hold bulky fields now: nothing more may go.
      if (!oldest) return;
      this.deletePayload.run(oldest.id);
      this.markPruned.run(oldest.id);
      this.bulkyBytes -= oldest.bulky_bytes;
    }
  }
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function rowOf(record: ExecutionRecord): Omit<ExecutionRow, 'bulky_bytes'> {
  return {
    id: record.id,
    tenant: record.tenant,
    created_by: record.createdBy,
    created_at: record.queuedAt.getTime(),
    status: record.status,
    started_at: record.startedAt?.getTime() ?? null,
    ended_at: record.endedAt?.getTime() ?? null,
    exit_code: record.exitCode,
    request_id: record.requestId,
    processor_id: record.processorId,
    error: record.error,
    batch_id: record.batchId,
    batch_index: record.batchIndex,
    state: stateColumn(record),
  };
}

function stateColumn(record: ExecutionRecord): string {
  const state: State = {
    debugMode: record.debugMode,
    timeoutS: record.timeoutS,
    limits: record.limits,
    truncated: record.truncated,
    oomKilled: record.oomKilled,
    timings: record.timings,
    codeMs: record.codeMs,
    usage: record.usage,
    imageId: record.imageId,
    inputFiles: record.inputFiles,
    outputFiles: record.outputFiles,
    callbackUrl: record.callbackUrl,
    sharedContainer: record.sharedContainer,
    figures: record.figures,
    profileRequested: record.profileRequested,
    profile: record.profile,
    runtime: record.runtime,
    moduleHint: record.moduleHint,
  };
  return JSON.stringify(state);
}

function outputColumns(record: ExecutionRecord): OutputColumns {
  return {
    stdout: record.stdout,
    stderr: record.stderr,
    exceptions_json: JSON.stringify(record.exceptions),
    variables_json: record.variablesAfter === null ? null : JSON.stringify(record.variablesAfter),
  };
}

function outputBytes(output: OutputColumns): number {
  return (
    utf8Bytes(output.stdout) +
    utf8Bytes(output.stderr) +
    utf8Bytes(output.exceptions_json) +
    utf8Bytes(output.variables_json ?? '')
  );
}

function summaryOf(row: SummaryRow): ExecutionSummary {
  return {
    id: row.id,
    tenant: row.tenant,
    createdBy: row.created_by,
    requestId: row.request_id,
    processorId: row.processor_id,
    queuedAt: new Date(row.created_at),
    status: row.status,
    startedAt: row.started_at === null ? null : new Date(row.started_at),
    endedAt: row.ended_at === null ? null : new Date(row.ended_at),
    exitCode: row.exit_code,
    error: row.error,
    batchId: row.batch_id,
    batchIndex: row.batch_index,
  };
}
