import { Injectable } from '@nestjs/common';
import Database from 'better-sqlite3';
import {
  AdjustmentPage,
  AdjustmentRecord,
  AdjustmentStatus,
  AdjustmentStore,
} from './adjustment-store';
import { SqliteDatabase } from './sqlite-database';

/**
 * A row of the adjustments table: JSON as text (`adjustments` as it arrived; rows of
 * earlier releases hold JSON.stringify's text), times as epoch milliseconds.
 */
interface AdjustmentRow {
  id: string;
  tenant: string;
  created_by: string;
  processor_id: string;
  adjustments: string;
  reason: string;
  execution_id: string | null;
  status: AdjustmentStatus;
  attempts: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
}

type DeliveryStateRow = Pick<
  AdjustmentRow,
  'id' | 'status' | 'attempts' | 'last_error' | 'updated_at' | 'next_attempt_at' | 'delivered_at'
>;

/**
 * Keeps adjustments in a SQLite file (or in memory) through better-sqlite3's synchronous
 * API, in the table the migrations create.
 */
@Injectable()
export class SqliteAdjustmentStore extends AdjustmentStore {
  private readonly db: Database.Database;
  private readonly insertRow: Database.Statement<[AdjustmentRow]>;
  private readonly updateRow: Database.Statement<[DeliveryStateRow]>;
  private readonly selectById: Database.Statement<[string], AdjustmentRow>;
  private readonly selectPage: Database.Statement<[number, number], AdjustmentRow>;
  private readonly countAll: Database.Statement<[], { total: number }>;
  private readonly selectTenantPage: Database.Statement<[string, number, number], AdjustmentRow>;
  private readonly countTenant: Database.Statement<[string], { total: number }>;
  private readonly countTenantPending: Database.Statement<[string], { total: number }>;
  private readonly selectDue: Database.Statement<[number, number], AdjustmentRow>;
  private readonly countStatuses: Database.Statement<
    [],
    { status: AdjustmentStatus; count: number }
  >;

  constructor(database: SqliteDatabase) {
    super();
    this.db = database.connection;

    this.insertRow = this.db.prepare(
      `INSERT INTO adjustments (id, tenant, created_by, processor_id, adjustments, reason,
         execution_id, status, attempts, last_error, created_at, updated_at, next_attempt_at,
         delivered_at)
       VALUES (@id, @tenant, @created_by, @processor_id, @adjustments, @reason, @execution_id,
         @status, @attempts, @last_error, @created_at, @updated_at, @next_attempt_at,
         @delivered_at)`,
    );
    this.updateRow = this.db.prepare(
      `UPDATE adjustments SET status = @status, attempts = @attempts, last_error = @last_error,
         updated_at = @updated_at, next_attempt_at = @next_attempt_at, delivered_at = @delivered_at
       WHERE id = @id`,
    );
    this.selectById = this.db.prepare('SELECT * FROM adjustments WHERE id = ?');
    // rowid breaks ties between records created in the same millisecond.
    this.selectPage = this.db.prepare(
      'SELECT * FROM adjustments ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?',
    );
    this.countAll = this.db.prepare('SELECT COUNT(*) AS total FROM adjustments');
    this.selectTenantPage = this.db.prepare(
      `SELECT * FROM adjustments WHERE tenant = ?
       ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
    );
    this.countTenant = this.db.prepare(
      'SELECT COUNT(*) AS total FROM adjustments WHERE tenant = ?',
    );
    // The literal 'pending' lets SQLite count in the partial index alone.
    this.countTenantPending = this.db.prepare(
      `SELECT COUNT(*) AS total FROM adjustments WHERE tenant = ? AND status = 'pending'`,
    );
    this.selectDue = this.db.prepare(
      `SELECT * FROM adjustments WHERE status = 'pending' AND next_attempt_at <= ?
       ORDER BY created_at, rowid LIMIT ?`,
    );
    this.countStatuses = this.db.prepare(
      'SELECT status, COUNT(*) AS count FROM adjustments GROUP BY status',
    );
  }

  insert(record: AdjustmentRecord): void {
    this.insertRow.run(toRow(record));
  }

  update(record: AdjustmentRecord): void {
    const { id, status, attempts, last_error, updated_at, next_attempt_at, delivered_at } =
      toRow(record);
    this.updateRow.run({
      id,
      status,
      attempts,
      last_error,
      updated_at,
      next_attempt_at,
      delivered_at,
    });
  }

  get(id: string): AdjustmentRecord | undefined {
    const row = this.selectById.get(id);
    return row && fromRow(row);
  }

  countPending(tenant: string): number {
    return this.countTenantPending.get(tenant)?.total ?? 0;
  }

  list(offset: number, limit: number, tenant: string | null): AdjustmentPage {
    if (tenant === null) {
      const items = this.selectPage.all(limit, offset).map(fromRow);
      return { items, total: this.countAll.get()?.total ?? 0 };
    }
    const items = this.selectTenantPage.all(tenant, limit, offset).map(fromRow);
    return { items, total: this.countTenant.get(tenant)?.total ?? 0 };
  }

  due(now: Date, limit: number): AdjustmentRecord[] {
    return this.selectDue.all(now.getTime(), limit).map(fromRow);
  }

  countByStatus(): Record<AdjustmentStatus, number> {
    const counts: Record<AdjustmentStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const { status, count } of this.countStatuses.all()) counts[status] = count;
    return counts;
  }
}

function toRow(record: AdjustmentRecord): AdjustmentRow {
  return {
    id: record.id,
    tenant: record.tenant,
    created_by: record.createdBy,
    processor_id: record.processorId,
    adjustments: record.adjustments,
    reason: record.reason,
    execution_id: record.executionId,
    status: record.status,
    attempts: record.attempts,
    last_error: record.lastError,
    created_at: record.createdAt.getTime(),
    updated_at: record.updatedAt.getTime(),
    next_attempt_at: record.nextAttemptAt?.getTime() ?? null,
    delivered_at: record.deliveredAt?.getTime() ?? null,
  };
}

function fromRow(row: AdjustmentRow): AdjustmentRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    createdBy: row.created_by,
    processorId: row.processor_id,
    adjustments: row.adjustments,
    reason: row.reason,
    executionId: row.execution_id,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    nextAttemptAt: row.next_attempt_at === null ? null : new Date(row.next_attempt_at),
    deliveredAt: row.delivered_at === null ? null : new Date(row.delivered_at),
  };
}
