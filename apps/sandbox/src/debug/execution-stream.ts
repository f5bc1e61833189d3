import type { MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { ExecutionFeed, FeedEvent } from '@brain-net/messaging';
import { ExecutionRecord, isFinished } from '@brain-net/store';
import { toExecutionResult } from '../execution/dto/execution-result.dto';

/** How often a stream looks at the record, in case the feed's `finished` went astray. */
const STREAM_POLL_MS = 2000;

/**
 * The server-sent events of one execution, on whichever instance it runs: what it
 * already printed, then its output and status changes as they happen, then a `result`
 * event, then the end.
 *
 * Events: `output` {stream, data}, `status` {status}, `result` (the execution result).
 *
 * Nothing is lost or repeated between the catch-up and the live part: the stream
 * subscribes first, then reads what was printed so far; live output events carry a
 * sequence number, and those the catch-up already held are dropped.
 */
export function executionStream(
  executionId: string,
  current: () => Promise<ExecutionRecord>,
  feed: ExecutionFeed,
): Observable<MessageEvent> {
  return new Observable<MessageEvent>((subscriber) => {
    let ended = false;
    let caughtUp = false;
    let lastSeq = 0;
    const early: FeedEvent[] = [];
    let stopListening = (): void => undefined;
    let poll: NodeJS.Timeout | undefined;

    const end = (record: ExecutionRecord): void => {
      if (ended) return;
      ended = true;
      subscriber.next({ type: 'result', data: toExecutionResult(record) });
      subscriber.complete();
    };
    const fail = (error: unknown): void => {
      if (ended) return;
      ended = true;
      subscriber.error(error);
    };
    const endIfFinished = (): void => {
      current().then((record) => {
        if (isFinished(record.status)) end(record);
      }, fail);
    };
    const live = (event: FeedEvent): void => {
      if (ended) return;
      switch (event.type) {
        case 'output':
          if (event.seq <= lastSeq) return; // already sent in the catch-up
          lastSeq = event.seq;
          subscriber.next(output(event.stream, event.data));
          return;
        case 'status':
          subscriber.next({ type: 'status', data: { status: event.status } });
          return;
        case 'finished':
          endIfFinished();
          return;
        case 'cancel':
          return;
      }
    };

    // The client may leave during any await of the start (the teardown has run by then):
    // each step checks, so that no subscription or poll outlives it.
    const start = async (): Promise<void> => {
      const unsubscribe = await feed.subscribe(executionId, (event) =>
        caughtUp ? live(event) : early.push(event),
      );
      if (ended) {
        unsubscribe();
        return;
      }
      stopListening = unsubscribe;
      const record = await current();
      if (ended) return;
      if (isFinished(record.status)) {
        if (record.stdout) subscriber.next(output('stdout', record.stdout));
        if (record.stderr) subscriber.next(output('stderr', record.stderr));
        subscriber.next({ type: 'status', data: { status: record.status } });
        end(record);
        return;
      }
      const printed = await feed.outputSoFar(executionId);
      if (ended) return;
      for (const event of printed) {
        lastSeq = event.seq;
        subscriber.next(output(event.stream, event.data));
      }
      subscriber.next({ type: 'status', data: { status: record.status } });
      caughtUp = true;
      early.splice(0).forEach(live);
      poll = setInterval(endIfFinished, STREAM_POLL_MS);
    };
    start().catch(fail);

    return () => {
      ended = true;
      clearInterval(poll);
      stopListening();
    };
  });
}

function output(stream: 'stdout' | 'stderr', data: string): MessageEvent {
  return { type: 'output', data: { stream, data } };
}
