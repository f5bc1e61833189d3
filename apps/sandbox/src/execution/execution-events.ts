import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';
import type { OutputStream } from '@brain-net/runner';
import type { ExecutionRecord, ExecutionStatus } from '@brain-net/store';

export type ExecutionEvent =
  /** `seq` counts an execution's output events from 1, without gaps. */
  | {
      readonly type: 'output';
      readonly stream: OutputStream;
      readonly data: string;
      readonly seq: number;
    }
  | { readonly type: 'status'; readonly status: ExecutionStatus }
  | { readonly type: 'finished'; readonly record: ExecutionRecord };

/**
 * The one local bus of execution events: the lifecycle publishes here, and this
 * instance's listeners (metrics, statistics, and ExecutionFeedRelay, which carries each
 * event on to the feed for watchers anywhere) subscribe. The store stays the source of
 * truth: an event missed here is still in the record.
 */
@Injectable()
export class ExecutionEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per watcher of an execution; many watchers are legitimate.
    this.emitter.setMaxListeners(0);
  }

  publish(executionId: string, event: ExecutionEvent): void {
    this.emitter.emit(executionId, event);
    this.emitter.emit('*', executionId, event);
  }

  /** Calls the handler for each event of one execution; returns the unsubscribe function. */
  subscribe(executionId: string, handler: (event: ExecutionEvent) => void): () => void {
    this.emitter.on(executionId, handler);
    return () => this.emitter.off(executionId, handler);
  }

  /** Calls the handler for each event of every execution. */
  subscribeAll(handler: (executionId: string, event: ExecutionEvent) => void): () => void {
    this.emitter.on('*', handler);
    return () => this.emitter.off('*', handler);
  }
}
