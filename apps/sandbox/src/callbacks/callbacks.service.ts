import { Injectable } from '@nestjs/common';
import { CallbackOutbox } from '@brain-net/store';
import { ExecutionEvents } from '../execution/execution-events';

/**
 * Starts and stops the callback outbox (ServiceLifecycle), and kicks an execution's
 * callback the moment this instance's lifecycle announces it finished, so the outbox's
 * own looks are only the safety net.
 */
@Injectable()
export class CallbacksService {
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly outbox: CallbackOutbox,
    private readonly events: ExecutionEvents,
  ) {}

  start(): void {
    this.outbox.start();
    this.unsubscribe = this.events.subscribeAll((executionId, event) => {
      if (event.type === 'finished' && event.record.callbackUrl !== null) {
        this.outbox.kick(executionId);
      }
    });
  }

  /** Resolves once the attempts under way are done. */
  stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    return this.outbox.stop();
  }

  close(): Promise<void> {
    return this.outbox.close();
  }
}
