import { Injectable } from '@nestjs/common';
import Database from 'better-sqlite3';
import { ExecutionRecord, ExecutionStatus } from './execution-record';
import { ExecutionPage, ExecutionStore } from './execution-store';
import { SqliteDatabase } from './sqlite-database';
import { StoreOptions } from './store-options';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS executions (
    id         TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    status     TEXT NOT NULL,
    record     TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS executions_by_creation ON executions (created_at);
  CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status);
`;

const UNFINISHED: ExecutionStatus[] = ['queued', 'running'];

interface ExecutionRow {
  id: string;
  created_at: number;
  status: ExecutionStatus;
  record: string;
}

/**
 * Keeps execution records in SQLite, the whole record as JSON beside the columns it is
 * looked up by, up to EXECUTION_HISTORY_LIMIT finished ones (oldest dropped first).
 */
@Injectable()
export class SqliteExecutionStore extends ExecutionStore {
  private readonly upsert: Database.Statement<[ExecutionRow]>;
  private readonly selectById: Database.Statement<[string], ExecutionRow>;
  private readonly selectPage: Database.Statement<[number, number], ExecutionRow>;
  private readonly countAll: Database.Statement<[], { total: number }>;
  private readonly selectUnfinished: Database.Statement<[], ExecutionRow>;
  private readonly trim: Database.Statement<[number]>;
  private readonly historyLimit: number;

  constructor(database: SqliteDatabase, options: StoreOptions) {
    super();
    const db = database.connection;
    db.exec(SCHEMA);
    this.upsert = db.prepare(
      `INSERT INTO executions (id, created_at, status, record)
       VALUES (@id, @created_at, @status, @record)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record`,
    );
    this.selectById = db.prepare('SELECT * FROM executions WHERE id = ?');
    // rowid breaks ties between records created in the same millisecond.
    this.selectPage = db.prepare(
      'SELECT * FROM executions ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?',
    );
    this.countAll = db.prepare('SELECT COUNT(*) AS total FROM executions');
    this.selectUnfinished = db.prepare(
      `SELECT * FROM executions WHERE status IN (${UNFINISHED.map((s) => `'${s}'`).join(', ')})
       ORDER BY created_at, rowid`,
    );
    // Finished records beyond the newest `limit` of all records go; unfinished ones stay.
    this.trim = db.prepare(
      `DELETE FROM executions WHERE status NOT IN (${UNFINISHED.map((s) => `'${s}'`).join(', ')})
         AND rowid NOT IN (SELECT rowid FROM executions ORDER BY created_at DESC, rowid DESC LIMIT ?)`,
    );
    this.historyLimit = options.executionHistoryLimit;
  }

  save(record: ExecutionRecord): void {
    this.upsert.run({
      id: record.id,
      created_at: record.queuedAt.getTime(),
      status: record.status,
      record: JSON.stringify(record),
    });
    // A new record is saved once as queued: the moment to make room for it.
    if (record.status === 'queued') this.trim.run(this.historyLimit);
  }

  get(id: string): ExecutionRecord | undefined {
    const row = this.selectById.get(id);
    return row && fromRow(row);
  }

  list(offset: number, limit: number): ExecutionPage {
    return {
      items: this.selectPage.all(limit, offset).map(fromRow),
      total: this.countAll.get()?.total ?? 0,
    };
  }

  unfinished(): ExecutionRecord[] {
    return this.selectUnfinished.all().map(fromRow);
  }
}

/** JSON keeps dates as ISO strings; these fields are Dates again on the way out. */
function fromRow(row: ExecutionRow): ExecutionRecord {
  const stored = JSON.parse(row.record) as ExecutionRecord & {
    queuedAt: string;
    startedAt: string | null;
    endedAt: string | null;
  };
  return {
    ...stored,
    queuedAt: new Date(stored.queuedAt),
    startedAt: stored.startedAt === null ? null : new Date(stored.startedAt),
    endedAt: stored.endedAt === null ? null : new Date(stored.endedAt),
  };
}
