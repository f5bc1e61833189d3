import type { ExecutionFeed } from '@brain-net/messaging';
import { ExecutionEvents } from '../execution-events';
import { ExecutionFeedRelay } from '../execution-feed-relay';

/** The local bus wired to the feed as the app wires it: what specs of the lifecycle hear. */
export function eventsRelayedTo(feed: ExecutionFeed): ExecutionEvents {
  const events = new ExecutionEvents();
  new ExecutionFeedRelay(events, feed); // subscribes itself for the life of the bus
  return events;
}
