import { Logger } from '@nestjs/common';
import { BackendClient } from '@brain-net/backend-client';
import {
  AdjustmentAttempt,
  AdjustmentAttemptOutcome,
  BullmqAdjustmentQueue,
} from '@brain-net/messaging';
import { AdjustmentPage, AdjustmentRecord, AdjustmentStatus } from '@brain-net/store';
import { MetricsService } from '../metrics/metrics.service';
import { deliveryOf, gaveUpMessage, rejectionMessage } from './adjustment-delivery.service';
import { AdjustmentAdmission, AdjustmentOutbox } from './adjustment-outbox';

/**
 * The outbox in cluster mode: a BullMQ queue on the shared Redis, one job per adjustment
 * (job id = adjustment id). Any instance accepts and reads; every instance's worker
 * delivers, BullMQ deciding when (attempts, backoff, final failure) and making sure one
 * job is worked on by one worker at a time.
 */
export class BullmqAdjustmentOutbox extends AdjustmentOutbox {
  private readonly logger = new Logger('AdjustmentDelivery');

  constructor(
    private readonly queue: BullmqAdjustmentQueue,
    private readonly backend: BackendClient,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  async accept(record: AdjustmentRecord, maxPending: number): Promise<AdjustmentAdmission> {
    const outcome = await this.queue.add(record, maxPending);
    if ('refused' in outcome) return outcome;
    return { record: outcome.record, replayed: !outcome.added };
  }

  get(id: string): Promise<AdjustmentRecord | undefined> {
    return this.queue.get(id);
  }

  list(offset: number, limit: number, tenant: string | null): Promise<AdjustmentPage> {
    return this.queue.list(offset, limit, tenant);
  }

  countByStatus(): Promise<Record<AdjustmentStatus, number>> {
    return this.queue.countByStatus();
  }

  /** Every instance delivers, whatever its ROLE: a delivery is an HTTP call, no engine needed. */
  start(): void {
    this.queue.work((record, attempt) => this.attempt(record, attempt));
  }

  /** Each delivery under way is bounded by the backend timeout. */
  async stop(): Promise<void> {
    await this.queue.stopWork();
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  /** One delivery attempt, told to BullMQ as an outcome; logged and counted as on one machine. */
  private async attempt(
    record: AdjustmentRecord,
    attempt: AdjustmentAttempt,
  ): Promise<AdjustmentAttemptOutcome> {
    const answer = await this.backend.deliverAdjustment(deliveryOf(record));
    switch (answer.kind) {
      case 'delivered':
        this.metrics.recordAdjustmentDelivery('delivered');
        this.logger.log(`adjustment ${record.id} delivered (attempt ${attempt.number})`);
        return { kind: 'delivered' };
      case 'rejected': {
        const message = rejectionMessage(answer.status, answer.message);
        this.metrics.recordAdjustmentDelivery('rejected');
        this.logger.warn(`adjustment ${record.id} failed: ${message}`);
        return { kind: 'rejected', message };
      }
      case 'retryable': {
        if (attempt.last) {
          const message = gaveUpMessage(attempt.number, answer.message);
          this.metrics.recordAdjustmentDelivery('failed');
          this.logger.warn(`adjustment ${record.id} failed: ${message}`);
          return { kind: 'retryable', message };
        }
        this.metrics.recordAdjustmentDelivery('retryable');
        this.logger.log(
          `adjustment ${record.id} attempt ${attempt.number} failed: ${answer.message}`,
        );
        return { kind: 'retryable', message: answer.message };
      }
    }
  }
}
