import { CallbackHandler, CallbackOutbox, CallbackState } from '@brain-net/store';
import { BullmqCallbackQueue } from '@brain-net/messaging';

/**
 * The callback outbox in cluster mode: a BullMQ queue on the shared Redis, one job per
 * execution (job id = execution id). Any instance registers, kicks and reads; every
 * instance's worker delivers, BullMQ deciding when (attempts, backoff, final failure)
 * and making sure one job is worked on by one worker at a time.
 */
export class BullmqCallbackOutbox extends CallbackOutbox {
  constructor(
    private readonly queue: BullmqCallbackQueue,
    private readonly handler: CallbackHandler,
    /** When a new callback is first looked at, unless its execution's end kicks it sooner. */
    private readonly firstLookMs: number,
    private readonly onError: (error: unknown) => void,
  ) {
    super();
  }

  expect(executionId: string, tenant: string, url: string): Promise<void> {
    return this.queue.add({ executionId, tenant, url, createdAt: new Date() }, this.firstLookMs);
  }

  /** A kick that misses (the job was being looked at) leaves the next look to the delay. */
  kick(executionId: string): void {
    this.queue.promote(executionId).catch(this.onError);
  }

  status(executionId: string): Promise<CallbackState | null> {
    return this.queue.status(executionId);
  }

  /** Every instance delivers, whatever its ROLE: a delivery is an HTTP call, no engine needed. */
  start(): void {
    this.queue.work(this.handler);
  }

  /** Each delivery under way is bounded by CALLBACK_TIMEOUT_MS. */
  stop(): Promise<void> {
    return this.queue.stopWork();
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
