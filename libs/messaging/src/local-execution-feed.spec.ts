import type { FeedEvent, OutputEvent } from './execution-feed';
import { LocalExecutionFeed } from './local-execution-feed';
import { behavesAsAnExecutionFeed } from './testing/execution-feed-contract';

function output(seq: number, data: string): OutputEvent {
  return { type: 'output', stream: 'stdout', data, seq };
}

describe('LocalExecutionFeed', () => {
  behavesAsAnExecutionFeed(() => {
    // One instance: the feed lives in process, so the publisher's is the watcher's.
    const feed = new LocalExecutionFeed();
    return { publisher: feed, watcher: feed };
  });

  it('delivers the events of an execution in order, synchronously, to its subscribers only', async () => {
    const feed = new LocalExecutionFeed();
    const heard: FeedEvent[] = [];
    const other: FeedEvent[] = [];
    await feed.subscribe('e1', (event) => heard.push(event));
    await feed.subscribe('e2', (event) => other.push(event));

    await feed.publish('e1', { type: 'status', status: 'running' });
    void feed.publish('e1', output(1, 'a'));
    // Heard during publish, before the returned promise settles.
    expect(heard).toHaveLength(2);
    await feed.publish('e1', output(2, 'b'));
    await feed.publish('e1', { type: 'finished', status: 'completed' });

    expect(heard).toEqual([
      { type: 'status', status: 'running' },
      output(1, 'a'),
      output(2, 'b'),
      { type: 'finished', status: 'completed' },
    ]);
    expect(other).toEqual([]);
  });

  it('keeps the output events (only those) for watchers that come later', async () => {
    const feed = new LocalExecutionFeed();
    await feed.publish('e1', output(1, 'a'));
    await feed.publish('e1', { type: 'status', status: 'running' });
    await feed.publish('e1', output(2, 'b'));
    await feed.publish('e2', output(1, 'other'));

    const soFar = await feed.outputSoFar('e1');
    expect(soFar).toEqual([output(1, 'a'), output(2, 'b')]);
    // A copy: what the caller does with it does not change what the feed keeps.
    soFar.pop();
    expect(await feed.outputSoFar('e1')).toHaveLength(2);
    expect(await feed.outputSoFar('unknown')).toEqual([]);
  });

  it('drops the kept output of a forgotten execution, and that one only', async () => {
    const feed = new LocalExecutionFeed();
    await feed.publish('e1', output(1, 'a'));
    await feed.publish('e2', output(1, 'b'));

    await feed.forget('e1');

    expect(await feed.outputSoFar('e1')).toEqual([]);
    expect(await feed.outputSoFar('e2')).toEqual([output(1, 'b')]);
  });

  it('stops delivering to a handler that unsubscribed, and only to it', async () => {
    const feed = new LocalExecutionFeed();
    const first: FeedEvent[] = [];
    const second: FeedEvent[] = [];
    const unsubscribeFirst = await feed.subscribe('e1', (event) => first.push(event));
    await feed.subscribe('e1', (event) => second.push(event));

    await feed.publish('e1', output(1, 'a'));
    unsubscribeFirst();
    unsubscribeFirst(); // twice is harmless
    await feed.publish('e1', output(2, 'b'));

    expect(first).toEqual([output(1, 'a')]);
    expect(second).toEqual([output(1, 'a'), output(2, 'b')]);
  });

  it('counts the same handler subscribed twice as two subscriptions', async () => {
    const feed = new LocalExecutionFeed();
    const heard: FeedEvent[] = [];
    const handler = (event: FeedEvent): number => heard.push(event);
    const unsubscribeOnce = await feed.subscribe('e1', handler);
    await feed.subscribe('e1', handler);

    unsubscribeOnce();
    unsubscribeOnce();
    await feed.publish('e1', { type: 'cancel' });

    expect(heard).toEqual([{ type: 'cancel' }]);
  });

  it('rejects the publish when a handler throws', async () => {
    const feed = new LocalExecutionFeed();
    await feed.subscribe('e1', () => {
      throw new Error('watcher broke');
    });
    await expect(feed.publish('e1', { type: 'cancel' })).rejects.toThrow('watcher broke');
  });

  it('accepts an execution id that EventEmitter would treat specially', async () => {
    const feed = new LocalExecutionFeed();
    await expect(feed.publish('error', { type: 'cancel' })).resolves.toBeUndefined();
  });
});
