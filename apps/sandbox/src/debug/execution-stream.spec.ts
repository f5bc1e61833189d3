import type { MessageEvent } from '@nestjs/common';
import { Deferred } from '@brain-net/runner/testing/scripted-runner';
import { FeedEvent, LocalExecutionFeed, OutputEvent } from '@brain-net/messaging';
import { ExecutionRecord, ExecutionStatus } from '@brain-net/store';
import { queuedRecord } from '@brain-net/store/testing/execution-records';
import { STREAM_HEARTBEAT_MS, executionStream } from './execution-stream';

const ID = 'execution-1';

/**
 * The in-process feed, counting the subscriptions still held; a spec may hold the next
 * subscribe or outputSoFar until it lets go, to end the stream during that await.
 */
class CountingFeed extends LocalExecutionFeed {
  active = 0;
  subscribeGate: Deferred | null = null;
  outputGate: Deferred | null = null;
  /** Hands the output so far back last first, as a store without an order might. */
  reversed = false;

  override async subscribe(
    executionId: string,
    handler: (event: FeedEvent) => void,
  ): Promise<() => void> {
    await this.subscribeGate?.promise;
    const unsubscribe = await super.subscribe(executionId, handler);
    this.active += 1;
    let held = true;
    return () => {
      if (held) this.active -= 1;
      held = false;
      unsubscribe();
    };
  }

  override async outputSoFar(executionId: string): Promise<OutputEvent[]> {
    await this.outputGate?.promise;
    const soFar = await super.outputSoFar(executionId);
    return this.reversed ? soFar.reverse() : soFar;
  }
}

function recordIn(status: ExecutionStatus): ExecutionRecord {
  return { ...queuedRecord({ id: ID, tenant: 'acme', debugMode: false }), status };
}

/** Lets every pending promise callback run (the fake timers leave microtasks alone). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
}

describe('executionStream', () => {
  let feed: CountingFeed;
  let reads: number;
  let readGate: Deferred | null;
  let status: ExecutionStatus;
  let events: MessageEvent[];
  let completed: boolean;

  const current = async (): Promise<ExecutionRecord> => {
    reads += 1;
    await readGate?.promise;
    return recordIn(status);
  };

  beforeEach(() => {
    jest.useFakeTimers();
    feed = new CountingFeed();
    reads = 0;
    readGate = null;
    status = 'running';
    events = [];
    completed = false;
  });
  afterEach(() => jest.useRealTimers());

  function open(afterSeq?: number) {
    return executionStream(ID, current, feed, afterSeq).subscribe({
      next: (event) => events.push(event),
      complete: () => (completed = true),
    });
  }

  function print(seq: number, data: string, stream: 'stdout' | 'stderr' = 'stdout') {
    return feed.publish(ID, { type: 'output', stream, data, seq });
  }

  /** The output events sent, as `id stream data`. */
  function outputs(): string[] {
    return events
      .filter((event) => event.type === 'output')
      .map((event) => {
        const { stream, data } = event.data as { stream: string; data: string };
        return `${event.id} ${stream} ${data}`;
      });
  }

  it('streams a running execution live, and on unsubscribe lets go of its subscription and poll', async () => {
    const subscription = open();
    await settle();
    expect(feed.active).toBe(1);
    expect(jest.getTimerCount()).toBe(2); // the poll and the heartbeat
    await feed.publish(ID, { type: 'output', stream: 'stdout', data: 'hi\n', seq: 1 });
    expect(events).toEqual([
      { type: 'status', id: '0', data: { status: 'running' } },
      { type: 'output', id: '1', data: { stream: 'stdout', data: 'hi\n' } },
    ]);

    subscription.unsubscribe();
    expect(feed.active).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it.each([
    ['subscribing to the feed', () => (feed.subscribeGate = new Deferred())],
    ['reading the record', () => (readGate = new Deferred())],
    ['reading the output so far', () => (feed.outputGate = new Deferred())],
  ])(
    'holds neither a subscription nor a poll when the client leaves while %s',
    async (_step, hold) => {
      const gate = hold();
      const subscription = open();
      await settle();
      subscription.unsubscribe();
      gate.resolve();
      await settle();

      expect(feed.active).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
      const readsAtEnd = reads;
      await jest.advanceTimersByTimeAsync(10_000);
      expect(reads).toBe(readsAtEnd);
      expect(events.filter((event) => event.type === 'result')).toEqual([]);
    },
  );

  it('gives each output event its seq as id, and status and result events the id before them', async () => {
    await print(1, 'a');
    open();
    await settle();
    await print(2, 'b');
    await feed.publish(ID, { type: 'status', status: 'running' });
    status = 'completed';
    await feed.publish(ID, { type: 'finished', status: 'completed' });
    await settle();

    expect(events.map((event) => [event.type, event.id])).toEqual([
      ['output', '1'],
      ['status', '1'],
      ['output', '2'],
      ['status', '2'],
      ['result', '2'],
    ]);
    expect(completed).toBe(true);
  });

  it('resumes after the given seq: replays only the later output, then goes on live', async () => {
    await print(1, 'a');
    await print(2, 'b');
    await print(3, 'c');
    open(2);
    await settle();
    await print(4, 'd');
    await print(2, 'b'); // a repeat from the feed is not sent again
    expect(outputs()).toEqual(['3 stdout c', '4 stdout d']);
    expect(events[1]).toEqual({ type: 'status', id: '3', data: { status: 'running' } });
  });

  it('resumes past everything printed so far with only the status, then the live output', async () => {
    await print(1, 'a');
    open(5);
    await settle();
    await print(6, 'f');
    expect(events).toEqual([
      { type: 'status', id: '5', data: { status: 'running' } },
      { type: 'output', id: '6', data: { stream: 'stdout', data: 'f' } },
    ]);
  });

  it.each([[0], [1]])(
    'sends output printed while it reads the output so far exactly once (after %i)',
    async (afterSeq) => {
      await print(1, 'a');
      const gate = (feed.outputGate = new Deferred());
      open(afterSeq);
      await settle();
      await print(2, 'b'); // heard live and kept for the catch-up too
      gate.resolve();
      await settle();
      await print(3, 'c');

      const expected = ['1 stdout a', '2 stdout b', '3 stdout c'].slice(afterSeq);
      expect(outputs()).toEqual(expected);
    },
  );

  it('replays stdout and stderr in the order they were written (by seq)', async () => {
    await print(1, 'out 1\n');
    await print(2, 'err 1\n', 'stderr');
    await print(3, 'out 2\n');
    await print(4, 'err 2\n', 'stderr');
    feed.reversed = true;
    open();
    await settle();
    expect(outputs()).toEqual([
      '1 stdout out 1\n',
      '2 stderr err 1\n',
      '3 stdout out 2\n',
      '4 stderr err 2\n',
    ]);
  });

  it('replays a finished execution whose chunks the feed still holds by seq, then ends', async () => {
    status = 'completed';
    await print(1, 'a');
    await print(2, 'b', 'stderr');
    open(1);
    await settle();
    expect(outputs()).toEqual(['2 stderr b']);
    expect(events.map((event) => event.type)).toEqual(['output', 'status', 'result']);
    expect(completed).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('on a resume of a finished execution whose chunks are gone, sends no output again', async () => {
    status = 'completed';
    open(3);
    await settle();
    expect(events.map((event) => [event.type, event.id])).toEqual([
      ['status', '3'],
      ['result', '3'],
    ]);
  });

  it('sends a keep-alive comment while open, and stops on disconnect', async () => {
    const subscription = open();
    await settle();
    await jest.advanceTimersByTimeAsync(STREAM_HEARTBEAT_MS - 1);
    expect(events.filter((event) => event.comment)).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(events.filter((event) => event.comment)).toEqual([{ comment: 'keep-alive' }]);
    await jest.advanceTimersByTimeAsync(STREAM_HEARTBEAT_MS);
    expect(events.filter((event) => event.comment)).toHaveLength(2);

    subscription.unsubscribe();
    expect(jest.getTimerCount()).toBe(0);
    expect(feed.active).toBe(0);
    const sent = events.length;
    await jest.advanceTimersByTimeAsync(STREAM_HEARTBEAT_MS * 3);
    expect(events).toHaveLength(sent);
  });

  it('sends the keep-alive while the start is still waiting, and stops it when the stream ends', async () => {
    readGate = new Deferred();
    open();
    await jest.advanceTimersByTimeAsync(STREAM_HEARTBEAT_MS);
    expect(events).toEqual([{ comment: 'keep-alive' }]);
    status = 'completed';
    readGate.resolve();
    await settle();
    expect(completed).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    expect(feed.active).toBe(0);
  });
});
