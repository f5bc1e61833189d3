import type { OutputStream } from '@brain-net/runner';
import type { ExecutionStatus } from '@brain-net/store';

/** A piece of output; `seq` counts an execution's output events from 1, without gaps. */
export interface OutputEvent {
  readonly type: 'output';
  readonly stream: OutputStream;
  readonly data: string;
  readonly seq: number;
}

/**
 * What watchers of one execution hear, on whichever instance they are: its output, its
 * status changes, its end (the record is in the store by then), and requests to cancel
 * it (heard by the instance that runs it).
 */
export type FeedEvent =
  | OutputEvent
  | { readonly type: 'status'; readonly status: ExecutionStatus }
  | { readonly type: 'finished'; readonly status: ExecutionStatus }
  | { readonly type: 'cancel' };

/**
 * The live feed of executions, shared by every instance that shares a store. Port:
 * in-process for one machine, Redis pub/sub in cluster mode. Fire and forget: the store
 * stays the truth, so a watcher that missed an event finds the outcome there.
 */
export abstract class ExecutionFeed {
  /** Sends the event to every subscriber of the execution; output is also kept (see outputSoFar). */
  abstract publish(executionId: string, event: FeedEvent): Promise<void>;
  /**
   * Calls the handler for each event of the execution published after the returned
   * promise resolves; resolves to the unsubscribe function.
   */
  abstract subscribe(executionId: string, handler: (event: FeedEvent) => void): Promise<() => void>;
  /** The output events of an execution published so far, in order; kept until `forget`. */
  abstract outputSoFar(executionId: string): Promise<OutputEvent[]>;
  /** Drops the kept output of an execution that ended (its record holds it now). */
  abstract forget(executionId: string): Promise<void>;
  /**
   * Stops hearing and sending events, at shutdown, once the executions of this instance
   * ended; connections passed in stay open (they are not the feed's). A no-op for a
   * feed that holds nothing of its own (in-process).
   */
  abstract close(): Promise<void>;
}
