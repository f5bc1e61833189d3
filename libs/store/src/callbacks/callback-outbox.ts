/**
 * Where a callback stands. `waiting`: no attempt yet (its execution has not finished, or
 * the first attempt is about to be made); `pending`: an attempt failed and another is
 * due; `delivered`: the receiver took it (2xx); `failed`: given up, `lastError` says why.
 */
export const CALLBACK_STATUSES = ['waiting', 'pending', 'delivered', 'failed'] as const;
export type CallbackStatus = (typeof CALLBACK_STATUSES)[number];

/** The delivery state of one execution's callback, as GET /execution/{id} shows it. */
export interface CallbackState {
  readonly status: CallbackStatus;
  /** Attempts made, failed ones included. */
  readonly attempts: number;
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
}

/** One callback to deliver: the execution's result, POSTed to `url` once it has finished. */
export interface ExpectedCallback {
  readonly executionId: string;
  readonly tenant: string;
  readonly url: string;
  /** When it was expected (the submit). */
  readonly createdAt: Date;
}

/** Which attempt the deliverer is asked to make. */
export interface CallbackAttempt {
  /** 1 for the first. */
  readonly number: number;
  /** No attempt follows this one if it fails (CALLBACK_MAX_ATTEMPTS). */
  readonly last: boolean;
}

/** What one turn of a callback came to, as the deliverer tells its outbox. */
export type CallbackOutcome =
  /** Its execution has not finished: look again after `delayMs` (no attempt counted). */
  | { readonly kind: 'wait'; readonly delayMs: number }
  | { readonly kind: 'delivered' }
  /** Failed for good: no further attempt. */
  | { readonly kind: 'rejected'; readonly message: string }
  /** Failed for now: another attempt after the backoff (never after the last attempt). */
  | { readonly kind: 'retryable'; readonly message: string };

/** Makes one turn of a callback: the outbox's adapters call it, and store what it says. */
export type CallbackHandler = (
  callback: ExpectedCallback,
  attempt: CallbackAttempt,
) => Promise<CallbackOutcome>;

/**
 * Port: the callbacks of executions, registered at admission (before the job is queued,
 * so a crash cannot leave a finished execution without its callback), delivered once the
 * execution has finished, retried with backoff, kept across restarts. One machine: a
 * SQLite table and a poller; cluster mode: a BullMQ queue every instance shares. What an
 * attempt does and decides is the handler's (the app's CallbackDeliverer).
 */
export abstract class CallbackOutbox {
  /** Registers the callback of an execution about to be stored; a repeat changes nothing. */
  abstract expect(executionId: string, tenant: string, url: string): Promise<void>;
  /** The execution has finished: its callback is due now rather than at its next look. */
  abstract kick(executionId: string): void;
  /** Its delivery state; null when none is known (never expected, or forgotten since). */
  abstract status(executionId: string): Promise<CallbackState | null>;
  /** Starts delivering, at start-up: every instance delivers, whatever its ROLE. */
  abstract start(): void;
  /** Takes no more callbacks to deliver; resolves once the attempts under way are done. */
  abstract stop(): Promise<void>;
  /** Lets go of what it holds (its queue's worker and connections), after stop(). */
  abstract close(): Promise<void>;
}
