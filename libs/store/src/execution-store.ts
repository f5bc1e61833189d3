import type {
  ExecutionInput,
  ExecutionRecord,
  ExecutionSummary,
  IdempotentRequest,
} from './execution-record';

export interface ExecutionPage {
  readonly items: ExecutionSummary[];
  readonly total: number;
}

/**
 * Where execution records live: the one true copy. Port: adapters hold data, not
 * decisions. Reads are bounded: a listing never loads output, input or variables.
 */
export abstract class ExecutionStore {
  /** Stores a newly accepted execution with its input, and its Idempotency-Key if any. */
  abstract create(
    record: ExecutionRecord,
    input: ExecutionInput,
    idempotency?: IdempotentRequest | null,
  ): void;
  /** The execution a tenant submitted under this Idempotency-Key, with its fingerprint. */
  abstract findByIdempotencyKey(
    tenant: string,
    key: string,
  ): { readonly id: string; readonly fingerprint: string } | undefined;
  /** Replaces the record's state, output and results; the input is left as it is. */
  abstract save(record: ExecutionRecord): void;
  abstract get(id: string): ExecutionRecord | undefined;
  /** The input it was submitted with; undefined when unknown or pruned. */
  abstract input(id: string): ExecutionInput | undefined;
  /** Newest first; summaries only; one tenant's, or every tenant's when `tenant` is null. */
  abstract list(offset: number, limit: number, tenant: string | null): ExecutionPage;
  /**
   * Marks every execution still queued or running as failed with this error (after a
   * restart: the ones a crash interrupted), without loading them. Returns how many.
   */
  abstract closeUnfinished(endedAt: Date, error: string): number;
}
