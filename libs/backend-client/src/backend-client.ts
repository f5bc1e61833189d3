/** A processor as the backend defines it: at least its id and its Python code. */
export interface ProcessorDefinition {
  readonly processor_id: string;
  readonly code: string;
  readonly [field: string]: unknown;
}

/**
 * Who a call is made for, told to the backend on every call (X-Sandbox-Tenant,
 * X-Sandbox-Caller) so that it can decide, whichever token the call carries.
 */
export interface OnBehalfOf {
  readonly tenant: string;
  /** The API key's name or the token's subject. */
  readonly subject: string;
  /** The caller's own bearer token (jwt mode); null: the call carries the service token. */
  readonly bearerToken: string | null;
}

/** One adjustment, as it is sent to the backend. */
export interface AdjustmentDelivery {
  /** Also the Idempotency-Key: the backend can tell a re-delivery from a new adjustment. */
  readonly adjustmentId: string;
  readonly processorId: string;
  /** The adjustments object as the JSON text the caller sent, delivered byte for byte. */
  readonly adjustmentsJson: string;
  readonly reason: string;
  readonly executionId: string | null;
  readonly createdAt: Date;
  /** The tenant the adjustment was made in, and its creator (key name or token subject). */
  readonly tenant: string;
  readonly createdBy: string;
}

/** What the backend made of one delivery attempt. */
export type DeliveryAnswer =
  /** It took the adjustment (2xx). */
  | { readonly kind: 'delivered'; readonly status: number }
  /**
   * It refused the adjustment for good (4xx other than 408 and 429): sending it again is
   * useless. Also a 400, unsent, for a processor id no safe path can be built from.
   */
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
   * the caller's own bearer token when it has one, else with the service's token, and
   * always naming the caller's tenant and subject, so the backend decides whether this
   * caller may run it. Throws BackendRefusedError when the backend refuses (401, 403),
   * BackendUnavailableError when it gives no usable answer, UnsafeProcessorIdError (and
   * sends nothing) for an id that would not stay one path segment.
   */
  abstract fetchProcessor(
    processorId: string,
    onBehalfOf: OnBehalfOf,
  ): Promise<ProcessorDefinition | null>;
  /**
   * One delivery attempt, naming the adjustment's tenant and creator. Never throws: every
   * outcome is an answer (an id that would not stay one path segment is rejected unsent).
   */
  abstract deliverAdjustment(delivery: AdjustmentDelivery): Promise<DeliveryAnswer>;
}

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

/** The backend could not be reached, did not answer in time, or answered unusably. */
export class BackendUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}

/** A processor id that is empty, or would change the path it is put in (`.`, `..`). */
export class UnsafeProcessorIdError extends Error {
  constructor(readonly processorId: string) {
    super(`processor id ${JSON.stringify(processorId)} cannot be put in a backend path`);
    this.name = 'UnsafeProcessorIdError';
  }
}
