import type { MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { ExecutionFeed, FeedEvent, OutputEvent } from '@brain-net/messaging';
import { ExecutionRecord, ExecutionStatus, isFinished } from '@brain-net/store';
import { toExecutionResult } from '../execution/dto/execution-result.dto';

/** How often a stream looks at the record, in case the feed's `finished` went astray. */
const STREAM_POLL_MS = 2000;

/**
 * How often an open stream sends a `: keep-alive` comment line, so that proxies and
 * load balancers do not close a connection that is quiet while the code computes.
 */
export const STREAM_HEARTBEAT_MS = 15_000;

/**
 * The server-sent events of one execution, on whichever instance it runs: what it
 * already printed, then its output and status changes as they happen, then a `result`
 * event, then the end.
 *
 * Events: `output` {stream, data}, `status` {status}, `result` (the execution result),
 * and a `: keep-alive` comment every STREAM_HEARTBEAT_MS while the stream is open.
 *
 * Every event's id is a cursor: the `seq` of the last output event sent so far (0 before
 * the first). An output event's id is therefore its own `seq`, and status and result
 * events repeat the id of the output before them, so ids never decrease and any of them
 * can be handed back as `afterSeq` (the client's `Last-Event-ID`): the catch-up then
 * skips the output events up to it. (Nest numbers the events that come without an id
 * itself, which would collide with the seqs: every event here has one.)
 *
 * Nothing is lost or repeated between the catch-up and the live part: the stream
 * subscribes first, then reads what was printed so far; live output events carry a
 * sequence number, and those the catch-up already held (or the client already had)
 * are dropped. The catch-up follows `seq`, the order the chunks were written in,
 * whichever of stdout and stderr each went to.
 */
export function executionStream(
  executionId: string,
  current: () => Promise<ExecutionRecord>,
  feed: ExecutionFeed,
  afterSeq = 0,
): Observable<MessageEvent> {
  return new Observable<MessageEvent>((subscriber) => {
    let ended = false;
    let caughtUp = false;
    let lastSeq = afterSeq;
    const early: FeedEvent[] = [];
    let stopListening = (): void => undefined;
    let poll: NodeJS.Timeout | undefined;
    const heartbeat = setInterval(() => {
      if (!ended) subscriber.next({ comment: 'keep-alive' });
    }, STREAM_HEARTBEAT_MS);

    const cursor = (): string => String(lastSeq);
    const sendOutput = (event: OutputEvent): void => {
      lastSeq = event.seq;
      subscriber.next(output(event.stream, event.data, cursor()));
    };
    const sendStatus = (status: ExecutionStatus): void => {
      subscriber.next({ type: 'status', id: cursor(), data: { status } });
    };
    const end = (record: ExecutionRecord): void => {
      if (ended) return;
      ended = true;
      subscriber.next({ type: 'result', id: cursor(), data: toExecutionResult(record) });
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
          if (event.seq <= lastSeq) return; // already sent in the catch-up, or had before
          sendOutput(event);
          return;
        case 'status':
          sendStatus(event.status);
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
      const printed = await feed.outputSoFar(executionId);
      if (ended) return;
      if (isFinished(record.status) && printed.length === 0) {
        // The feed lets go of the chunks once the run is over: the record still has
        // stdout and stderr, whole, but no seqs. A client that resumes had them (or
        // has them in the result); the cursor stays where it was.
        if (afterSeq === 0) {
          if (record.stdout) subscriber.next(output('stdout', record.stdout, cursor()));
          if (record.stderr) subscriber.next(output('stderr', record.stderr, cursor()));
        }
        sendStatus(record.status);
        end(record);
        return;
      }
      const inWrittenOrder = [...printed].sort((a, b) => a.seq - b.seq);
      for (const event of inWrittenOrder) if (event.seq > lastSeq) sendOutput(event);
      sendStatus(record.status);
      if (isFinished(record.status)) {
        end(record);
        return;
      }
      caughtUp = true;
      early.splice(0).forEach(live);
      poll = setInterval(endIfFinished, STREAM_POLL_MS);
    };
    start().catch(fail);

    return () => {
      ended = true;
      clearInterval(heartbeat);
      clearInterval(poll);
      stopListening();
    };
  });
}

function output(stream: 'stdout' | 'stderr', data: string, id: string): MessageEvent {
  return { type: 'output', id, data: { stream, data } };
}
