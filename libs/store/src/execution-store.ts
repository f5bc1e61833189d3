import type {
  ExecutionInput,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionSummary,
  IdempotentRequest,
} from './execution-record';

/** The execution an earlier submit stored under an Idempotency-Key, and what it asked for. */
export interface EarlierSubmit {
  readonly id: string;
  readonly fingerprint: string;
}

/**
 * Which executions a listing shows: each criterion given must hold; none given, all of
 * them. Applied by the store, before the page is cut: `total` counts what matches.
 */
export interface ExecutionFilter {
  /** In any of these statuses (an empty list matches nothing). */
  readonly statuses?: readonly ExecutionStatus[];
  /** Submitted for this processor. */
  readonly processorId?: string;
  /** Queued at or after this moment. */
  readonly since?: Date;
  /** Submitted in this batch; the page is then in the batch's order, not newest first. */
  readonly batchId?: string;
}

export interface ExecutionPage {
  readonly items: ExecutionSummary[];
  readonly total: number;
}

/**
 * Where execution records live: the one true copy. Port: adapters hold data, not
 * decisions. Reads are bounded: a listing never loads output, input or variables.
 */
export abstract class ExecutionStore {
  /**
   * Stores a newly accepted execution with its input, and claims its Idempotency-Key if
   * any. A key this tenant already claimed stores nothing and answers with the earlier
   * submit: one atomic step, so two instances taking the same key at once run it once.
   */
  abstract create(
    record: ExecutionRecord,
    input: ExecutionInput,
    idempotency?: IdempotentRequest | null,
  ): Promise<EarlierSubmit | null>;
  /** The execution a tenant submitted under this Idempotency-Key, with its fingerprint. */
  abstract findByIdempotencyKey(tenant: string, key: string): Promise<EarlierSubmit | undefined>;
  /**
   * Replaces the record's state, output and results; the input is left as it is. A
   * finished record is final: a save over one changes nothing, not even its output (two
   * instances may both end an execution: one records its worker lost, or a cancel, while
   * the other still runs it; the first end stored wins). Atomic with that check. True
   * once saved; false when the stored record is finished already, or gone.
   */
  abstract save(record: ExecutionRecord): Promise<boolean>;
  /**
   * The record; with `tenant`, only if it is that tenant's: another tenant's answers
   * undefined, found without reading its fields, as quickly as an unknown id.
   */
  abstract get(id: string, tenant?: string | null): Promise<ExecutionRecord | undefined>;
  /** The input it was submitted with; undefined when unknown or pruned. */
  abstract input(id: string): Promise<ExecutionInput | undefined>;
  /**
   * Newest first; summaries only; one tenant's, or every tenant's when `tenant` is null;
   * only those `filter` matches, and `total` counts those.
   */
  abstract list(
    offset: number,
    limit: number,
    tenant: string | null,
    filter?: ExecutionFilter,
  ): Promise<ExecutionPage>;
  /**
   * Marks every execution still queued or running as failed with this error (after a
   * restart: the ones a crash interrupted), without loading them. Returns how many.
   */
  abstract closeUnfinished(endedAt: Date, error: string): Promise<number>;
}
