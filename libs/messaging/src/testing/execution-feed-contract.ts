import type { ExecutionFeed, FeedEvent, OutputEvent } from '../execution-feed';

/**
 * The feeds of one test: `watcher` subscribes and reads kept output, `publisher` is where
 * the execution runs. Two instances sharing a backend where the adapter is shared (Redis);
 * the same one where it lives in process.
 */
export interface FeedPair {
  readonly publisher: ExecutionFeed;
  readonly watcher: ExecutionFeed;
}

/** How long delivery, or a forgotten execution's output to go, may take. */
const WAIT_MS = 3000;

/**
 * What every ExecutionFeed does alike, run by the spec of each adapter, so unit specs over
 * the in-process feed hold for the Redis one. `feeds` is called once per test and gives
 * fresh feeds, which must drop a forgotten execution's output within a few seconds.
 * Delivery may be synchronous or not: the contract waits for it, and proves that an
 * event did not arrive by waiting for a later one on the same channel.
 */
export function behavesAsAnExecutionFeed(feeds: () => FeedPair): void {
  describe('as an ExecutionFeed', () => {
    it('delivers every kind of event of an execution, in order, to its subscribers only', async () => {
      const { publisher, watcher } = feeds();
      const heard: FeedEvent[] = [];
      const elsewhere: FeedEvent[] = [];
      await watcher.subscribe('e1', (event) => heard.push(event));
      await watcher.subscribe('e2', (event) => elsewhere.push(event));

      const published: FeedEvent[] = [
        { type: 'status', status: 'running' },
        output(1, 'hello '),
        { type: 'output', stream: 'stderr', data: 'warning\n', seq: 2 },
        output(3, 'world\n'),
        { type: 'cancel' },
        { type: 'finished', status: 'cancelled' },
      ];
      for (const event of published) await publisher.publish('e1', event);

      await waitFor('every event', () => heard.length >= published.length);
      expect(heard).toEqual(published);
      await publisher.publish('e2', { type: 'cancel' });
      await waitFor('the other execution', () => elsewhere.length > 0);
      expect(elsewhere).toEqual([{ type: 'cancel' }]);
    });

    it('delivers each event to every subscriber of the execution', async () => {
      const { publisher, watcher } = feeds();
      const onWatcher: FeedEvent[] = [];
      const onPublisher: FeedEvent[] = [];
      await watcher.subscribe('e1', (event) => onWatcher.push(event));
      await publisher.subscribe('e1', (event) => onPublisher.push(event));

      await publisher.publish('e1', output(1, 'a'));
      await publisher.publish('e1', { type: 'finished', status: 'completed' });

      const expected = [output(1, 'a'), { type: 'finished', status: 'completed' }];
      await waitFor('both subscribers', () => onWatcher.length >= 2 && onPublisher.length >= 2);
      expect(onWatcher).toEqual(expected);
      expect(onPublisher).toEqual(expected);
    });

    it('carries a cancel request from any instance to the one running the execution', async () => {
      const { publisher, watcher } = feeds();
      const heardByRunner: FeedEvent[] = [];
      await publisher.subscribe('e1', (event) => heardByRunner.push(event));

      await watcher.publish('e1', { type: 'cancel' });

      await waitFor('the cancel request', () => heardByRunner.length > 0);
      expect(heardByRunner).toEqual([{ type: 'cancel' }]);
      // A request, not output: nothing of it is kept.
      expect(await publisher.outputSoFar('e1')).toEqual([]);
    });

    it('delivers nothing published before the subscription', async () => {
      const { publisher, watcher } = feeds();
      await publisher.publish('e1', { type: 'status', status: 'running' });
      await publisher.publish('e1', output(1, 'early'));

      const heard: FeedEvent[] = [];
      await watcher.subscribe('e1', (event) => heard.push(event));
      await publisher.publish('e1', output(2, 'late'));

      await waitFor('the event after subscribing', () => heard.length > 0);
      expect(heard).toEqual([output(2, 'late')]);
    });

    it('stops delivering to a handler that unsubscribed, and only to it', async () => {
      const { publisher, watcher } = feeds();
      const first: FeedEvent[] = [];
      const second: FeedEvent[] = [];
      const unsubscribeFirst = await watcher.subscribe('e1', (event) => first.push(event));
      await watcher.subscribe('e1', (event) => second.push(event));

      await publisher.publish('e1', output(1, 'a'));
      await waitFor('both handlers', () => first.length > 0 && second.length > 0);
      unsubscribeFirst();
      unsubscribeFirst(); // twice is harmless
      await publisher.publish('e1', output(2, 'b'));
      await publisher.publish('e1', { type: 'finished', status: 'completed' });

      // The second handler heard the last event, so the first would have heard it by now.
      await waitFor('the remaining handler', () => second.length >= 3);
      expect(first).toEqual([output(1, 'a')]);
      expect(second).toEqual([
        output(1, 'a'),
        output(2, 'b'),
        { type: 'finished', status: 'completed' },
      ]);
    });

    it('counts the same handler subscribed twice as two subscriptions', async () => {
      const { publisher, watcher } = feeds();
      const heard: FeedEvent[] = [];
      const marks: FeedEvent[] = [];
      const handler = (event: FeedEvent): number => heard.push(event);
      const unsubscribeOnce = await watcher.subscribe('e1', handler);
      await watcher.subscribe('e1', handler);
      await watcher.subscribe('e1', (event) => marks.push(event));

      await publisher.publish('e1', output(1, 'a'));
      await waitFor('both subscriptions', () => heard.length >= 2);
      unsubscribeOnce();
      unsubscribeOnce();
      await publisher.publish('e1', { type: 'cancel' });

      await waitFor('the last event', () => marks.length >= 2);
      expect(heard).toEqual([output(1, 'a'), output(1, 'a'), { type: 'cancel' }]);
    });

    it('delivers the event to the other subscribers when one handler throws', async () => {
      const { publisher, watcher } = feeds();
      const heard: FeedEvent[] = [];
      await watcher.subscribe('e1', () => {
        throw new Error('watcher broke');
      });
      await watcher.subscribe('e1', (event) => heard.push(event));

      // Whether the publish then rejects or the failure is reported elsewhere is the
      // adapter's own; the other watchers hear the event either way.
      await publisher.publish('e1', { type: 'cancel' }).catch(() => undefined);
      await publisher.publish('e1', output(1, 'a')).catch(() => undefined);

      await waitFor('both events', () => heard.length >= 2);
      expect(heard).toEqual([{ type: 'cancel' }, output(1, 'a')]);
      expect(await watcher.outputSoFar('e1')).toEqual([output(1, 'a')]);
    });

    it('keeps the output events (only those) of each execution, in order, for any instance', async () => {
      const { publisher, watcher } = feeds();
      await publisher.publish('e1', output(1, 'a'));
      await publisher.publish('e1', { type: 'status', status: 'running' });
      await publisher.publish('e1', { type: 'output', stream: 'stderr', data: 'b', seq: 2 });
      await publisher.publish('e1', { type: 'cancel' });
      await publisher.publish('e2', output(1, 'other'));

      const expected = [output(1, 'a'), { type: 'output', stream: 'stderr', data: 'b', seq: 2 }];
      expect(await watcher.outputSoFar('e1')).toEqual(expected);
      expect(await publisher.outputSoFar('e1')).toEqual(expected);
      expect(await watcher.outputSoFar('e2')).toEqual([output(1, 'other')]);
      expect(await watcher.outputSoFar('unknown')).toEqual([]);

      // A copy: what the caller does with it does not change what the feed keeps.
      const soFar = await watcher.outputSoFar('e1');
      soFar.pop();
      expect(await watcher.outputSoFar('e1')).toEqual(expected);
    });

    it('lets a watcher that joins while output comes rebuild it exactly once', async () => {
      const { publisher, watcher } = feeds();
      const total = 40;
      const joiners: Promise<() => OutputEvent[]>[] = [];
      for (let seq = 1; seq <= total; seq += 1) {
        // Watchers join all along, also before the first chunk.
        if (seq % 10 === 1) joiners.push(join(watcher, 'e1'));
        await publisher.publish('e1', output(seq, `chunk ${seq};`));
      }
      const rebuiltBy = await Promise.all(joiners);

      for (const rebuilt of rebuiltBy) {
        await waitFor('the last chunk', () => rebuilt().at(-1)?.seq === total);
        const seqs = rebuilt().map((event) => event.seq);
        expect(seqs).toEqual(Array.from({ length: total }, (_unused, i) => i + 1));
      }
    });

    it('drops the kept output of a forgotten execution, and of that one only', async () => {
      const { publisher, watcher } = feeds();
      await publisher.publish('e1', output(1, 'a'));
      await publisher.publish('e2', output(1, 'b'));

      await publisher.forget('e1');

      // At once, or after a grace for watchers joining just then.
      const deadline = Date.now() + WAIT_MS;
      while ((await watcher.outputSoFar('e1')).length > 0 && Date.now() < deadline) {
        await sleep(20);
      }
      expect(await watcher.outputSoFar('e1')).toEqual([]);
      expect(await watcher.outputSoFar('e2')).toEqual([output(1, 'b')]);
      // Forgetting one that kept nothing is harmless.
      await expect(publisher.forget('unknown')).resolves.toBeUndefined();
    });
  });
}

/**
 * What a watcher that joins late does: subscribe, read what was kept, then take live
 * events past the last kept seq only. Resolves to what it has rebuilt so far.
 */
async function join(feed: ExecutionFeed, executionId: string): Promise<() => OutputEvent[]> {
  const early: OutputEvent[] = [];
  const rebuilt: OutputEvent[] = [];
  let lastKeptSeq: number | null = null;
  await feed.subscribe(executionId, (event) => {
    if (event.type !== 'output') return;
    if (lastKeptSeq === null) early.push(event);
    else if (event.seq > lastKeptSeq) rebuilt.push(event);
  });
  const kept = await feed.outputSoFar(executionId);
  const last = kept.at(-1)?.seq ?? 0;
  lastKeptSeq = last;
  rebuilt.unshift(...kept, ...early.filter((event) => event.seq > last));
  return () => rebuilt;
}

function output(seq: number, data: string): OutputEvent {
  return { type: 'output', stream: 'stdout', data, seq };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}
