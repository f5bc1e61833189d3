import type { ExecutionRecord } from './execution-record';

export interface ExecutionPage {
  readonly items: ExecutionRecord[];
  readonly total: number;
}

/** Where execution records live: the one true copy. Port: adapters hold data, not decisions. */
export abstract class ExecutionStore {
  /** Inserts or replaces the record. */
  abstract save(record: ExecutionRecord): void;
  abstract get(id: string): ExecutionRecord | undefined;
  /** Newest first. */
  abstract list(offset: number, limit: number): ExecutionPage;
  /** Records still queued or running (after a restart: the ones a crash interrupted). */
  abstract unfinished(): ExecutionRecord[];
}
