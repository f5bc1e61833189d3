import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';
import { ExecutionFeed, type FeedEvent, type OutputEvent } from './execution-feed';

/**
 * The feed of one instance, in process: handlers hear events synchronously, during
 * `publish`. Kept output lives in memory until `forget`.
 */
@Injectable()
export class LocalExecutionFeed extends ExecutionFeed {
  private readonly emitter = new EventEmitter();
  private readonly outputs = new Map<string, OutputEvent[]>();

  constructor() {
    super();
    // One listener per watcher of an execution; many watchers are legitimate.
    this.emitter.setMaxListeners(0);
  }

  publish(executionId: string, event: FeedEvent): Promise<void> {
    if (event.type === 'output') {
      const kept = this.outputs.get(executionId);
      if (kept) kept.push(event);
      else this.outputs.set(executionId, [event]);
    }
    // Not emit(): it stops at the first handler that throws, and the watchers after it
    // would miss the event. Every handler hears it, as on the Redis feed.
    const failures: unknown[] = [];
    for (const listener of this.emitter.listeners(eventName(executionId))) {
      try {
        (listener as (event: FeedEvent) => void)(event);
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length === 0) return Promise.resolve();
    // A throwing handler rejects the publish, as the Redis feed's failures do.
    const [first] = failures;
    return Promise.reject(first instanceof Error ? first : new Error(String(first)));
  }

  subscribe(executionId: string, handler: (event: FeedEvent) => void): Promise<() => void> {
    // A listener of its own, so that subscribing one handler twice needs two unsubscribes.
    const listener = (event: FeedEvent): void => handler(event);
    this.emitter.on(eventName(executionId), listener);
    return Promise.resolve(() => {
      this.emitter.off(eventName(executionId), listener);
    });
  }

  outputSoFar(executionId: string): Promise<OutputEvent[]> {
    return Promise.resolve([...(this.outputs.get(executionId) ?? [])]);
  }

  forget(executionId: string): Promise<void> {
    this.outputs.delete(executionId);
    return Promise.resolve();
  }

  /** Holds no connection: nothing to let go of. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Prefixed so that no execution id can collide with EventEmitter's special 'error' event. */
function eventName(executionId: string): string {
  return `execution:${executionId}`;
}
