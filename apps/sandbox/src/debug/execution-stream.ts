import type { MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import { toExecutionResult } from '../execution/dto/execution-result.dto';
import { ExecutionEvent, ExecutionEvents } from '../execution/execution-events';
import { ExecutionRecord, isFinished } from '@brain-net/store';

/**
 * The server-sent events of one execution: what it already printed, then its output
 * and status changes as they happen, then a `result` event, then the end.
 *
 * Events: `output` {stream, data}, `status` {status}, `result` (the execution result).
 */
export function executionStream(
  record: ExecutionRecord,
  events: ExecutionEvents,
): Observable<MessageEvent> {
  return new Observable<MessageEvent>((subscriber) => {
    // The snapshot and the subscription happen in one synchronous step: events are
    // published on this same thread, so none can fall between the two.
    if (record.stdout) subscriber.next(output('stdout', record.stdout));
    if (record.stderr) subscriber.next(output('stderr', record.stderr));
    subscriber.next({ type: 'status', data: { status: record.status } });
    if (isFinished(record.status)) {
      subscriber.next({ type: 'result', data: toExecutionResult(record) });
      subscriber.complete();
      return;
    }
    return events.subscribe(record.id, (event: ExecutionEvent) => {
      switch (event.type) {
        case 'output':
          subscriber.next(output(event.stream, event.data));
          break;
        case 'status':
          subscriber.next({ type: 'status', data: { status: event.status } });
          break;
        case 'finished':
          subscriber.next({ type: 'result', data: toExecutionResult(event.record) });
          subscriber.complete();
          break;
      }
    });
  });
}

function output(stream: 'stdout' | 'stderr', data: string): MessageEvent {
  return { type: 'output', data: { stream, data } };
}
