import { Logger } from '@nestjs/common';
import {
  CallbackHandler,
  CallbackOutbox,
  CallbackOutcome,
  CallbackState,
  SqliteCallbackStore,
  StoredCallback,
} from '@brain-net/store';
import { errorMessage } from '../errors/error-message';
import { RetryPolicy, retryDelayMs } from '../config/retry-delay';

/** How often the table is searched for due callbacks (retries come due between kicks). */
const POLL_INTERVAL_MS = 1000;
/** How often ended callbacks whose execution is gone are deleted. */
const FORGET_INTERVAL_MS = 10 * 60_000;
/** Attempts under way at once, so that slow receivers cannot hold up every callback. */
export const MAX_PARALLEL_CALLBACKS = 8;

export interface SqliteCallbackPolicy extends RetryPolicy {
  readonly maxAttempts: number;
  /** When a new callback is first looked at, unless its execution's end kicks it sooner. */
  readonly firstLookMs: number;
}

/**
 * The callback outbox on one machine: the `callbacks` table holds each callback and its
 * delivery state, and a poller hands the due ones to the handler (at most
 * MAX_PARALLEL_CALLBACKS at once), then stores what came of it: the next look, the
 * backoff after a failure, the end. Rows outlive a restart, so nothing is lost with it.
 */
export class SqliteCallbackOutbox extends CallbackOutbox {
  private readonly logger = new Logger('CallbackDelivery');
  /** Turns under way, by execution id: never two at once for one callback. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Kicked while a turn was under way: a `wait` it comes to is due again at once. */
  private readonly kickedInFlight = new Set<string>();
  /** Null while stopped. */
  private timers: { poll: NodeJS.Timeout; forget: NodeJS.Timeout } | null = null;

  constructor(
    private readonly store: SqliteCallbackStore,
    private readonly handler: CallbackHandler,
    private readonly policy: SqliteCallbackPolicy,
  ) {
    super();
  }

  expect(executionId: string, tenant: string, url: string): Promise<void> {
    const now = new Date();
    return settle(() =>
      this.store.insert({
        executionId,
        tenant,
        url,
        status: 'waiting',
        attempts: 0,
        lastError: null,
        deliveredAt: null,
        createdAt: now,
        nextAttemptAt: new Date(now.getTime() + this.policy.firstLookMs),
      }),
    );
  }

  kick(executionId: string): void {
    try {
      this.store.makeDue(executionId, new Date());
    } catch (error: unknown) {
      this.logger.error(`callback of ${executionId}: cannot make it due: ${errorMessage(error)}`);
      return;
    }
    if (this.inFlight.has(executionId)) this.kickedInFlight.add(executionId);
    this.poll();
  }

  status(executionId: string): Promise<CallbackState | null> {
    return settle(() => {
      const callback = this.store.get(executionId);
      if (!callback) return null;
      const { status, attempts, lastError, deliveredAt } = callback;
      return { status, attempts, lastError, deliveredAt };
    });
  }

  start(): void {
    this.timers = {
      poll: setInterval(() => this.poll(), POLL_INTERVAL_MS),
      forget: setInterval(() => this.forgetEnded(), FORGET_INTERVAL_MS),
    };
    this.forgetEnded();
    this.poll();
  }

  async stop(): Promise<void> {
    if (this.timers) {
      clearInterval(this.timers.poll);
      clearInterval(this.timers.forget);
    }
    this.timers = null;
    // Turns under way store their outcome; each is bounded by CALLBACK_TIMEOUT_MS.
    await Promise.allSettled(this.inFlight.values());
  }

  /** The table is the SQLite database's, closed last by the shutdown. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Starts a turn for each due callback that has none under way. */
  private poll(): void {
    if (this.timers === null) return;
    const freeSlots = MAX_PARALLEL_CALLBACKS - this.inFlight.size;
    if (freeSlots <= 0) return;
    let due: StoredCallback[];
    try {
      // Callbacks under way are still due in the table: ask for enough to fill the free slots.
      due = this.store.due(new Date(), MAX_PARALLEL_CALLBACKS);
    } catch (error: unknown) {
      this.logger.error(`cannot look for due callbacks: ${errorMessage(error)}`);
      return;
    }
    for (const callback of due
      .filter((c) => !this.inFlight.has(c.executionId))
      .slice(0, freeSlots)) {
      const id = callback.executionId;
      const turn = this.turn(callback)
        .catch((error: unknown) => {
          this.logger.error(`callback of ${id}: cannot record the attempt: ${errorMessage(error)}`);
        })
        .finally(() => {
          this.inFlight.delete(id);
          this.kickedInFlight.delete(id);
        });
      this.inFlight.set(id, turn);
    }
  }

  private async turn(callback: StoredCallback): Promise<void> {
    const number = callback.attempts + 1;
    const outcome = await this.handler(callback, {
      number,
      last: number >= this.policy.maxAttempts,
    });
    const kicked = this.kickedInFlight.has(callback.executionId);
    this.store.update(this.settle(callback, outcome, new Date(), kicked));
    if (kicked) this.poll();
  }

  /** The callback after a turn that came to `outcome`. */
  private settle(
    callback: StoredCallback,
    outcome: CallbackOutcome,
    now: Date,
    kicked: boolean,
  ): StoredCallback {
    if (outcome.kind === 'wait') {
      const at = kicked ? now.getTime() : now.getTime() + outcome.delayMs;
      return { ...callback, nextAttemptAt: new Date(at) };
    }
    const attempts = callback.attempts + 1;
    switch (outcome.kind) {
      case 'delivered':
        return {
          ...callback,
          attempts,
          status: 'delivered',
          nextAttemptAt: null,
          deliveredAt: now,
        };
      case 'rejected':
        return {
          ...callback,
          attempts,
          status: 'failed',
          nextAttemptAt: null,
          lastError: outcome.message,
        };
      case 'retryable': {
        // The handler gives up on the last attempt; a retryable one there ends it all the same.
        const ended = attempts >= this.policy.maxAttempts;
        return {
          ...callback,
          attempts,
          status: ended ? 'failed' : 'pending',
          lastError: outcome.message,
          nextAttemptAt: ended
            ? null
            : new Date(now.getTime() + retryDelayMs(attempts, this.policy)),
        };
      }
    }
  }

  private forgetEnded(): void {
    try {
      this.store.forgetEndedWithoutExecution();
    } catch (error: unknown) {
      this.logger.warn(`cannot forget ended callbacks: ${errorMessage(error)}`);
    }
  }
}

/** The synchronous store's answer as a promise; what it throws, as a rejection. */
function settle<T>(read: () => T): Promise<T> {
  return new Promise((resolve) => resolve(read()));
}
