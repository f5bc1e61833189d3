import { Injectable, Logger } from '@nestjs/common';
import { ExecutionFeed, FeedEvent } from '@brain-net/messaging';
import { errorMessage } from '../errors/error-message';
import { ExecutionEvent, ExecutionEvents } from './execution-events';

/** What watchers on other instances hear of a local event (a finished record stays here). */
export function feedEventOf(event: ExecutionEvent): FeedEvent {
  switch (event.type) {
    case 'output':
      return event;
    case 'status':
      return event;
    case 'finished':
      return { type: 'finished', status: event.record.status };
  }
}

/**
 * The feed as the outbound adapter of the local bus: every event of ExecutionEvents goes
 * on to the ExecutionFeed, in the order it was published, for watchers on any instance.
 * A lost event costs a watcher only latency (watchers read the store too).
 */
@Injectable()
export class ExecutionFeedRelay {
  private readonly logger = new Logger(ExecutionFeedRelay.name);
  private unsubscribe: (() => void) | null;

  constructor(events: ExecutionEvents, feed: ExecutionFeed) {
    this.unsubscribe = events.subscribeAll((id, event) => {
      feed.publish(id, feedEventOf(event)).catch((error: unknown) => {
        this.logger.warn(`execution ${id}: cannot announce ${event.type}: ${errorMessage(error)}`);
      });
    });
  }

  /** At shutdown, once this instance's executions ended: nothing more to carry. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}
