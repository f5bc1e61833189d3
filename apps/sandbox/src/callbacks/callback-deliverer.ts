import { Logger } from '@nestjs/common';
import {
  CallbackAttempt,
  CallbackOutcome,
  ExecutionRecord,
  ExecutionStore,
  ExpectedCallback,
  isFinished,
} from '@brain-net/store';
import { WebhookSender } from '@brain-net/webhooks';
import { errorMessage } from '../errors/error-message';
import { toExecutionResult } from '../execution/dto/execution-result.dto';

/**
 * When a callback whose execution has not finished is looked at again. A safety net
 * only: the lifecycle's `finished` event kicks it at once (CallbacksService).
 */
export const WAIT_RECHECK_MS = 5_000;
/**
 * How long a callback may find no record of its execution: admission registers it just
 * before the record is stored. Past this the submit failed, or the history limit dropped it.
 */
export const UNSTORED_GRACE_MS = 60_000;
/** The `type` of every callback body. */
export const CALLBACK_TYPE = 'execution.finished';

/**
 * Makes one turn of an execution's callback: reads the execution (the store is the one
 * source of truth), waits while it runs, then POSTs its result through the WebhookSender
 * and says what came of it. The outboxes store the outcome and schedule the next turn.
 */
export class CallbackDeliverer {
  private readonly logger = new Logger('CallbackDelivery');

  constructor(
    private readonly store: ExecutionStore,
    private readonly sender: WebhookSender,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async attempt(callback: ExpectedCallback, attempt: CallbackAttempt): Promise<CallbackOutcome> {
    const id = callback.executionId;
    let record: ExecutionRecord | undefined;
    try {
      record = await this.store.get(id);
    } catch (error: unknown) {
      // The store's trouble is not the receiver's: no attempt is spent on it.
      this.logger.warn(`callback of ${id}: cannot read the execution: ${errorMessage(error)}`);
      return { kind: 'wait', delayMs: WAIT_RECHECK_MS };
    }
    if (!record) {
      if (this.now().getTime() - callback.createdAt.getTime() < UNSTORED_GRACE_MS) {
        return { kind: 'wait', delayMs: WAIT_RECHECK_MS };
      }
      const message = 'Its execution is not stored: its submit failed, or it was dropped since.';
      this.logger.warn(`callback of ${id} failed: ${message}`);
      return { kind: 'rejected', message };
    }
    if (!isFinished(record.status)) return { kind: 'wait', delayMs: WAIT_RECHECK_MS };

    const sent = await this.sender.send({
      url: callback.url,
      id: webhookIdOf(id),
      timestamp: this.now(),
      body: callbackBody(record),
    });
    if (sent.ok) {
      this.logger.log(`callback of ${id} delivered (attempt ${attempt.number}, ${sent.status})`);
      return { kind: 'delivered' };
    }
    if (!sent.retryable || attempt.last) {
      const message = sent.retryable ? gaveUpMessage(attempt.number, sent.reason) : sent.reason;
      this.logger.warn(`callback of ${id} failed: ${message}`);
      return { kind: 'rejected', message };
    }
    this.logger.log(`callback of ${id} attempt ${attempt.number} failed: ${sent.reason}`);
    return { kind: 'retryable', message: sent.reason };
  }
}

/** Standard Webhooks' `webhook-id`: one per execution, so a receiver can drop repeats. */
export function webhookIdOf(executionId: string): string {
  return `exec_${executionId}`;
}

/**
 * The body, the same on every attempt: Standard Webhooks' envelope (`type`, the event's
 * `timestamp`: when the execution ended) around the result GET /execution/{id} shows.
 */
export function callbackBody(record: ExecutionRecord): string {
  return JSON.stringify({
    type: CALLBACK_TYPE,
    timestamp: (record.endedAt ?? record.queuedAt).toISOString(),
    data: toExecutionResult(record),
  });
}

/** lastError of a callback whose attempts ran out. */
export function gaveUpMessage(attempts: number, lastReason: string): string {
  return `Gave up after ${attempts} attempts; the last: ${lastReason}`;
}
