import type {
  ExecutionInput,
  ExecutionRecord,
  ExecutionSummary,
  IdempotentRequest,
} from '../execution-record';
import { isFinished } from '../execution-record';
import { EarlierSubmit, ExecutionFilter, ExecutionPage, ExecutionStore } from '../execution-store';

/**
 * The ExecutionStore port in memory, for unit specs of the services. Copies records in
 * and out as a real store would, and refuses every call while `broken` is true.
 */
export class InMemoryExecutionStore extends ExecutionStore {
  broken = false;
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly inputs = new Map<string, ExecutionInput>();
  private readonly keys = new Map<string, EarlierSubmit>();

  create(
    record: ExecutionRecord,
    input: ExecutionInput,
    idempotency?: IdempotentRequest | null,
  ): Promise<EarlierSubmit | null> {
    return this.access(() => {
      const key = idempotency && `${record.tenant}\n${idempotency.key}`;
      const earlier = key ? this.keys.get(key) : undefined;
      if (earlier) return earlier;
      if (key && idempotency) this.keys.set(key, { id: record.id, ...idempotency });
      this.records.set(record.id, copy(record));
      this.inputs.set(record.id, { ...input });
      return null;
    });
  }

  findByIdempotencyKey(tenant: string, key: string): Promise<EarlierSubmit | undefined> {
    return this.access(() => this.keys.get(`${tenant}\n${key}`));
  }

  save(record: ExecutionRecord): Promise<boolean> {
    return this.access(() => {
      const stored = this.records.get(record.id);
      if (!stored || isFinished(stored.status)) return false;
      this.records.set(record.id, copy(record));
      return true;
    });
  }

  get(id: string, tenant: string | null = null): Promise<ExecutionRecord | undefined> {
    return this.access(() => {
      const record = this.records.get(id);
      if (tenant !== null && record?.tenant !== tenant) return undefined;
      return record && copy(record);
    });
  }

  input(id: string): Promise<ExecutionInput | undefined> {
    return this.access(() => this.inputs.get(id));
  }

  list(
    offset: number,
    limit: number,
    tenant: string | null,
    filter: ExecutionFilter = {},
  ): Promise<ExecutionPage> {
    return this.access(() => {
      const { statuses, processorId, since, batchId } = filter;
      // Newest first; the later created first among those queued in the same millisecond.
      const mine = [...this.records.values()]
        .reverse()
        .filter(
          (record) =>
            (tenant === null || record.tenant === tenant) &&
            (statuses === undefined || statuses.includes(record.status)) &&
            (processorId === undefined || record.processorId === processorId) &&
            (since === undefined || record.queuedAt.getTime() >= since.getTime()) &&
            (batchId === undefined || record.batchId === batchId),
        )
        .sort((a, b) =>
          batchId === undefined
            ? b.queuedAt.getTime() - a.queuedAt.getTime()
            : (a.batchIndex ?? 0) - (b.batchIndex ?? 0),
        );
      return { items: mine.slice(offset, offset + limit).map(summaryOf), total: mine.length };
    });
  }

  closeUnfinished(endedAt: Date, error: string): Promise<number> {
    return this.access(() => {
      let closed = 0;
      for (const record of this.records.values()) {
        if (isFinished(record.status)) continue;
        Object.assign(record, { status: 'failed', endedAt, error });
        closed += 1;
      }
      return closed;
    });
  }

  private access<T>(work: () => T): Promise<T> {
    if (this.broken) return Promise.reject(new Error('database or disk is full'));
    return Promise.resolve(work());
  }
}

function copy(record: ExecutionRecord): ExecutionRecord {
  return structuredClone(record);
}

function summaryOf(record: ExecutionRecord): ExecutionSummary {
  const { id, tenant, createdBy, requestId, processorId, queuedAt, status } = record;
  const { startedAt, endedAt, exitCode, error, batchId, batchIndex } = record;
  return {
    id,
    tenant,
    createdBy,
    requestId,
    processorId,
    queuedAt,
    status,
    startedAt,
    endedAt,
    exitCode,
    error,
    batchId,
    batchIndex,
  };
}
