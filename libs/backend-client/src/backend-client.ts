/** A processor as the backend defines it: at least its id and its Python code. */
export interface ProcessorDefinition {
  readonly processor_id: string;
  readonly code: string;
  readonly [field: string]: unknown;
}

/** One adjustment, as it is sent to the backend. */
export interface AdjustmentDelivery {
  /** Also the Idempotency-Key: the backend can tell a re-delivery from a new adjustment. */
  readonly adjustmentId: string;
  readonly processorId: string;
  readonly adjustments: Record<string, unknown>;
  readonly reason: string;
  readonly executionId: string | null;
  readonly createdAt: Date;
}

/** What the backend made of one delivery attempt. */
export type DeliveryAnswer =
  /** It took the adjustment (2xx). */
  | { readonly kind: 'delivered'; readonly status: number }
  /** It refused the adjustment for good (4xx other than 408 and 429): sending it again is useless. */
  | { readonly kind: 'rejected'; readonly status: number; readonly message: string }
  /** It could not take it now (5xx, 408, 429, no connection, no answer in time). */
  | { readonly kind: 'retryable'; readonly message: string };

/**
 * Port to the main backend. Implementations only speak HTTP; what to do about an
 * answer (cache, retry, give up) is decided by the callers.
 */
export abstract class BackendClient {
  /**
   * The processor's definition, or null when the backend does not know it. Asked with
   * `bearerToken` (the caller's own) when given, else with the service's token, so the
   * backend decides whether this caller may run it. Throws BackendRefusedError when the
   * backend refuses (401, 403), BackendUnavailableError when it gives no usable answer.
   */
  abstract fetchProcessor(
    processorId: string,
    bearerToken: string | null,
  ): Promise<ProcessorDefinition | null>;
  /** One delivery attempt. Never throws: every outcome is an answer. */
  abstract deliverAdjustment(delivery: AdjustmentDelivery): Promise<DeliveryAnswer>;
}

/** The backend could not be reached, did not answer in time, or answered unusably. */
/** The backend refused the call (401 or 403): the caller, or the service, may not do this. */
export class BackendRefusedError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BackendRefusedError';
  }
}

export class BackendUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}
