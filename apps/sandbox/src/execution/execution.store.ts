import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ExecutionRecord, isFinished } from './execution-record';

export interface ExecutionPage {
  readonly items: ExecutionRecord[];
  readonly total: number;
}

/** Where execution records live. Port: adapters hold data, not decisions. */
export abstract class ExecutionStore {
  abstract save(record: ExecutionRecord): void;
  abstract get(id: string): ExecutionRecord | undefined;
  /** Newest first. */
  abstract list(offset: number, limit: number): ExecutionPage;
}

/**
 * Keeps records in process memory, up to EXECUTION_HISTORY_LIMIT finished ones
 * (the oldest finished are dropped first; unfinished ones are never dropped).
 */
@Injectable()
export class InMemoryExecutionStore extends ExecutionStore {
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly limit: number;

  constructor(config: AppConfig) {
    super();
    this.limit = config.executionHistoryLimit;
  }

  save(record: ExecutionRecord): void {
    this.records.set(record.id, record);
    if (this.records.size > this.limit) this.dropOldestFinished();
  }

  get(id: string): ExecutionRecord | undefined {
    return this.records.get(id);
  }

  list(offset: number, limit: number): ExecutionPage {
    const newestFirst = [...this.records.values()].reverse();
    return { items: newestFirst.slice(offset, offset + limit), total: newestFirst.length };
  }

  private dropOldestFinished(): void {
    for (const [id, record] of this.records) {
      if (this.records.size <= this.limit) return;
      if (isFinished(record.status)) this.records.delete(id);
    }
  }
}
