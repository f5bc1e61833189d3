import { Injectable, Logger } from '@nestjs/common';
import { AdjustmentDelivery, BackendClient, DeliveryAnswer } from '@brain-net/backend-client';
import { AdjustmentRecord, AdjustmentStore } from '@brain-net/store';
import { AppConfig } from '../config/app-config';
import { AdjustmentDeliveryOutcome, MetricsService } from '../metrics/metrics.service';
import { retryDelayMs } from '../config/retry-delay';
import { errorMessage } from '../errors/error-message';

/** How often the store is searched for due adjustments (retries come due between requests). */
const POLL_INTERVAL_MS = 200;
/** Deliveries under way at once, so that a slow backend cannot hold up every adjustment. */
export const MAX_PARALLEL_DELIVERIES = 8;

/**
 * Delivers pending adjustments to the backend (an outbox): each is tried until the backend
 * takes it, refuses it for good, or the attempts run out, with backoff in between. The
 * store is the queue, so adjustments left pending by an earlier run are delivered too.
 */
@Injectable()
export class AdjustmentDeliveryService {
  private readonly logger = new Logger(AdjustmentDeliveryService.name);
  /** Attempts under way, by adjustment id: never two at once for one adjustment. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Null while stopped. */
  private poller: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: AdjustmentStore,
    private readonly backend: BackendClient,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  start(): void {
    this.poller = setInterval(() => this.kick(), POLL_INTERVAL_MS);
    this.kick();
  }

  async stop(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    // Attempts under way record their outcome; each is bounded by the backend timeout.
    await Promise.allSettled(this.inFlight.values());
  }

  /** Starts an attempt for each due adjustment that has none under way. */
  kick(): void {
    if (this.poller === null) return;
    const freeSlots = MAX_PARALLEL_DELIVERIES - this.inFlight.size;
    if (freeSlots <= 0) return;
    let due: AdjustmentRecord[];
    try {
      // Adjustments under way are still due in the store: ask for enough to fill the free slots.
      due = this.store.due(new Date(), MAX_PARALLEL_DELIVERIES);
    } catch (error: unknown) {
      this.logger.error(`cannot look for due adjustments: ${errorMessage(error)}`);
      return;
    }
    for (const record of due.filter((r) => !this.inFlight.has(r.id)).slice(0, freeSlots)) {
      const attempt = this.attempt(record)
        .catch((error: unknown) => {
          this.logger.error(
            `adjustment ${record.id}: cannot record the attempt: ${errorMessage(error)}`,
          );
        })
        .finally(() => this.inFlight.delete(record.id));
      this.inFlight.set(record.id, attempt);
    }
  }

  private async attempt(record: AdjustmentRecord): Promise<void> {
    const answer = await this.backend.deliverAdjustment(deliveryOf(record));
    const settled = this.settle(record, answer, new Date());
    this.store.update(settled);
    this.metrics.recordAdjustmentDelivery(deliveryOutcome(answer, settled));
    switch (settled.status) {
      case 'delivered':
        this.logger.log(`adjustment ${record.id} delivered (attempt ${settled.attempts})`);
        break;
      case 'failed':
        this.logger.warn(`adjustment ${record.id} failed: ${settled.lastError}`);
        break;
      case 'pending':
        this.logger.log(
          `adjustment ${record.id} attempt ${settled.attempts} failed, next at ` +
            `${settled.nextAttemptAt?.toISOString()}: ${settled.lastError}`,
        );
        break;
    }
  }

  /** The record after one attempt that got this answer. */
  private settle(record: AdjustmentRecord, answer: DeliveryAnswer, now: Date): AdjustmentRecord {
    const attempts = record.attempts + 1;
    const attempted = { ...record, attempts, updatedAt: now };
    switch (answer.kind) {
      case 'delivered':
        return { ...attempted, status: 'delivered', nextAttemptAt: null, deliveredAt: now };
      case 'rejected':
        return {
          ...attempted,
          status: 'failed',
          nextAttemptAt: null,
          lastError: rejectionMessage(answer.status, answer.message),
        };
      case 'retryable': {
        const policy = this.config.adjustmentDelivery;
        if (attempts >= policy.maxAttempts) {
          return {
            ...attempted,
            status: 'failed',
            nextAttemptAt: null,
            lastError: gaveUpMessage(attempts, answer.message),
          };
        }
        return {
          ...attempted,
          lastError: answer.message,
          nextAttemptAt: new Date(now.getTime() + retryDelayMs(attempts, policy)),
        };
      }
    }
  }
}

/** The adjustment as it is sent to the backend, its id as the Idempotency-Key. */
export function deliveryOf(record: AdjustmentRecord): AdjustmentDelivery {
  return {
    adjustmentId: record.id,
    processorId: record.processorId,
    adjustmentsJson: record.adjustments,
    reason: record.reason,
    executionId: record.executionId,
    createdAt: record.createdAt,
    tenant: record.tenant,
    createdBy: record.createdBy,
  };
}

/** lastError of an adjustment the backend refused for good. */
export function rejectionMessage(status: number, message: string): string {
  return `The backend rejected it with ${status}: ${message}`;
}

/** lastError of an adjustment whose attempts ran out. */
export function gaveUpMessage(attempts: number, lastMessage: string): string {
  return `Gave up after ${attempts} attempts; the last: ${lastMessage}`;
}

/** What one attempt came to, as the metrics count it. */
function deliveryOutcome(
  answer: DeliveryAnswer,
  settled: AdjustmentRecord,
): AdjustmentDeliveryOutcome {
  switch (answer.kind) {
    case 'delivered':
      return 'delivered';
    case 'rejected':
      return 'rejected';
    case 'retryable':
      return settled.status === 'failed' ? 'failed' : 'retryable';
  }
}
