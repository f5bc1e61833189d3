import type { MessageEvent } from '@nestjs/common';
import { Deferred } from '@brain-net/runner/testing/scripted-runner';
import { FeedEvent, LocalExecutionFeed, OutputEvent } from '@brain-net/messaging';
import { ExecutionRecord, ExecutionStatus } from '@brain-net/store';
import { queuedRecord } from '@brain-net/store/testing/execution-records';
import { executionStream } from './execution-stream';

const ID = 'execution-1';

/**
 * The in-process feed, counting the subscriptions still held; a spec may hold the next
 * subscribe or outputSoFar until it lets go, to end the stream during that await.
 */
class CountingFeed extends LocalExecutionFeed {
  active = 0;
  subscribeGate: Deferred | null = null;
  outputGate: Deferred | null = null;

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
    return super.outputSoFar(executionId);
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
  let events: MessageEvent[];

  const current = async (): Promise<ExecutionRecord> => {
    reads += 1;
    await readGate?.promise;
    return recordIn('running');
  };

  beforeEach(() => {
    jest.useFakeTimers();
    feed = new CountingFeed();
    reads = 0;
    readGate = null;
    events = [];
  });
  afterEach(() => jest.useRealTimers());

  function open() {
    return executionStream(ID, current, feed).subscribe({ next: (event) => events.push(event) });
  }

  it('streams a running execution live, and on unsubscribe lets go of its subscription and poll', async () => {
    const subscription = open();
    await settle();
    expect(feed.active).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
    await feed.publish(ID, { type: 'output', stream: 'stdout', data: 'hi\n', seq: 1 });
    expect(events).toEqual([
      { type: 'status', data: { status: 'running' } },
      { type: 'output', data: { stream: 'stdout', data: 'hi\n' } },
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
});
