import Database from 'better-sqlite3';
import { SqliteDatabase } from '../sqlite-database';
import type { CallbackState, CallbackStatus, ExpectedCallback } from './callback-outbox';

/** A callback with its delivery state, as the `callbacks` table holds it. */
export interface StoredCallback extends ExpectedCallback, CallbackState {
  /** When it is next looked at; null once it ended (delivered or failed). */
  readonly nextAttemptAt: Date | null;
}

/** A row of the `callbacks` table (migration 9): times as epoch milliseconds. */
interface CallbackRow {
  execution_id: string;
  tenant: string;
  url: string;
  status: CallbackStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  delivered_at: number | null;
  created_at: number;
}

type DeliveryStateRow = Pick<
  CallbackRow,
  'execution_id' | 'status' | 'attempts' | 'next_attempt_at' | 'last_error' | 'delivered_at'
>;

const NOT_ENDED = "status IN ('waiting', 'pending')";

/**
 * The callbacks of one machine, in the SQLite database beside its executions, through
 * better-sqlite3's synchronous API. Reads and writes rows; when and what to deliver is
 * the caller's.
 */
export class SqliteCallbackStore {
  private readonly insertRow: Database.Statement<[CallbackRow]>;
  private readonly updateRow: Database.Statement<[DeliveryStateRow]>;
  private readonly selectById: Database.Statement<[string], CallbackRow>;
  private readonly selectDue: Database.Statement<[number, number], CallbackRow>;
  private readonly bringForward: Database.Statement<[number, string]>;
  private readonly deleteOrphans: Database.Statement<[]>;

  constructor(database: SqliteDatabase) {
    const db = database.connection;
    // An execution id is a fresh UUID: a second insert is a repeat, and changes nothing.
    this.insertRow = db.prepare(`INSERT OR IGNORE INTO callbacks (execution_id, tenant, url,
        status, attempts, next_attempt_at, last_error, delivered_at, created_at)
      VALUES (@execution_id, @tenant, @url, @status, @attempts, @next_attempt_at,
        @last_error, @delivered_at, @created_at)`);
    this.updateRow = db.prepare(`UPDATE callbacks SET status = @status, attempts = @attempts,
        next_attempt_at = @next_attempt_at, last_error = @last_error,
        delivered_at = @delivered_at
      WHERE execution_id = @execution_id`);
    this.selectById = db.prepare('SELECT * FROM callbacks WHERE execution_id = ?');
    this.selectDue = db.prepare(`SELECT * FROM callbacks
      WHERE ${NOT_ENDED} AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`);
    this.bringForward = db.prepare(`UPDATE callbacks SET next_attempt_at = ?
      WHERE execution_id = ? AND status = 'waiting'`);
    this.deleteOrphans = db.prepare(`DELETE FROM callbacks WHERE status IN ('delivered', 'failed')
      AND NOT EXISTS (SELECT 1 FROM executions WHERE executions.id = callbacks.execution_id)`);
  }

  /** Stores a new callback; one already stored under its execution id stays as it is. */
  insert(callback: StoredCallback): void {
    this.insertRow.run(rowOf(callback));
  }

  get(executionId: string): StoredCallback | undefined {
    const row = this.selectById.get(executionId);
    return row && callbackOf(row);
  }

  /** Callbacks not ended whose next look is due at `now`, the most overdue first. */
  due(now: Date, limit: number): StoredCallback[] {
    return this.selectDue.all(now.getTime(), limit).map(callbackOf);
  }

  /** Writes its delivery state: status, attempts, next look, last error, delivery time. */
  update(callback: StoredCallback): void {
    const { execution_id, status, attempts, next_attempt_at, last_error, delivered_at } =
      rowOf(callback);
    this.updateRow.run({
      execution_id,
      status,
      attempts,
      next_attempt_at,
      last_error,
      delivered_at,
    });
  }

  /** Makes a waiting callback due at `now`; one under retry keeps its backoff. */
  makeDue(executionId: string, now: Date): void {
    this.bringForward.run(now.getTime(), executionId);
  }

  /** Deletes ended callbacks whose execution the store no longer holds; how many. */
  forgetEndedWithoutExecution(): number {
    return this.deleteOrphans.run().changes;
  }
}

function rowOf(callback: StoredCallback): CallbackRow {
  return {
    execution_id: callback.executionId,
    tenant: callback.tenant,
    url: callback.url,
    status: callback.status,
    attempts: callback.attempts,
    next_attempt_at: callback.nextAttemptAt?.getTime() ?? null,
    last_error: callback.lastError,
    delivered_at: callback.deliveredAt?.getTime() ?? null,
    created_at: callback.createdAt.getTime(),
  };
}

function callbackOf(row: CallbackRow): StoredCallback {
  return {
    executionId: row.execution_id,
    tenant: row.tenant,
    url: row.url,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at === null ? null : new Date(row.next_attempt_at),
    lastError: row.last_error,
    deliveredAt: row.delivered_at === null ? null : new Date(row.delivered_at),
    createdAt: new Date(row.created_at),
  };
}
