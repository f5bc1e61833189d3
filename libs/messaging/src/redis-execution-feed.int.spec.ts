import type { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '@brain-net/testing';
import type { FeedEvent, OutputEvent } from './execution-feed';
import { createRedisClient, pingRedis } from './redis-connection';
import { RedisExecutionFeed, type RedisExecutionFeedOptions } from './redis-execution-feed';
import { behavesAsAnExecutionFeed } from './testing/execution-feed-contract';

/** Polls until the condition holds; fails with `what` after the timeout. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function output(seq: number, data: string): OutputEvent {
  return { type: 'output', stream: 'stdout', data, seq };
}

describe('RedisExecutionFeed', () => {
  let server: RedisServer;
  let clients: Redis[] = [];
  let feeds: RedisExecutionFeed[] = [];
  let testNumber = 0;
  let keyPrefix = '';

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await server.destroy();
  });

  beforeEach(() => {
    testNumber += 1;
    keyPrefix = `feed-spec-${testNumber}:`;
  });

  afterEach(async () => {
    await Promise.all(feeds.map((feed) => feed.close().catch(() => undefined)));
    clients.forEach((client) => client.disconnect());
    feeds = [];
    clients = [];
  });

  function client(purpose: 'commands' | 'subscriber'): Redis {
    const redis = createRedisClient(server.url, purpose, `feed-spec-${purpose}`);
    // Expected while the server is stopped; ioredis would print each one otherwise.
    redis.on('error', () => undefined);
    clients.push(redis);
    return redis;
  }

  /** A feed on connections of its own, as a separate service instance would have. */
  function instance(options: Omit<RedisExecutionFeedOptions, 'keyPrefix'> = {}) {
    const commands = client('commands');
    const subscriber = client('subscriber');
    const feed = new RedisExecutionFeed(commands, subscriber, { keyPrefix, ...options });
    feeds.push(feed);
    return { feed, commands, subscriber };
  }

  // Two instances on connections of their own; a forgotten execution's output goes soon.
  behavesAsAnExecutionFeed(() => ({
    publisher: instance({ forgottenTtlMs: 100 }).feed,
    watcher: instance({ forgottenTtlMs: 100 }).feed,
  }));

  it('carries the events published on one instance to the subscribers of another, in order', async () => {
    const a = instance();
    const b = instance();
    const heard: FeedEvent[] = [];
    await b.feed.subscribe('e1', (event) => heard.push(event));
    const elsewhere: FeedEvent[] = [];
    await b.feed.subscribe('e2', (event) => elsewhere.push(event));

    const published: FeedEvent[] = [
      { type: 'status', status: 'running' },
      output(1, 'hello '),
      { type: 'output', stream: 'stderr', data: 'warning\n', seq: 2 },
      output(3, 'world\n'),
      { type: 'cancel' },
      { type: 'finished', status: 'cancelled' },
    ];
    for (const event of published) await a.feed.publish('e1', event);

    await waitFor('every event', () => heard.length === published.length);
    expect(heard).toEqual(published);
    expect(elsewhere).toEqual([]);
    // Only output is kept, on every instance.
    expect(await b.feed.outputSoFar('e1')).toEqual(
      published.filter((event) => event.type === 'output'),
    );
  });

  it('ignores malformed messages on a channel', async () => {
    const a = instance();
    const b = instance();
    const heard: FeedEvent[] = [];
    await b.feed.subscribe('e1', (event) => heard.push(event));
    const channel = `${keyPrefix}feed:e1`;

    for (const junk of [
      'not json',
      '42',
      'null',
      '{"type":"output","stream":"stdout","data":"x"}',
      '{"type":"output","stream":"video","data":"x","seq":1}',
      '{"type":"status","status":"sleeping"}',
      '{"type":"reboot"}',
    ]) {
      await a.commands.publish(channel, junk);
    }
    await a.feed.publish('e1', { type: 'finished', status: 'completed' });

    await waitFor('the valid event', () => heard.length > 0);
    expect(heard).toEqual([{ type: 'finished', status: 'completed' }]);
  });

  it('lets late joiners rebuild the output exactly while 500 chunks are being published', async () => {
    const publisher = instance();
    const chunks = Array.from({ length: 500 }, (_unused, i) => `chunk ${i + 1};`);
    const expected = chunks.join('');

    /**
     * What a watcher joining on another instance does: subscribe, read what was kept,
     * then take live events past the last kept seq only.
     */
    async function join(): Promise<() => OutputEvent[]> {
      const { feed } = instance();
      const early: OutputEvent[] = [];
      const rebuilt: OutputEvent[] = [];
      let lastLoggedSeq: number | null = null;
      await feed.subscribe('e1', (event) => {
        if (event.type !== 'output') return;
        if (lastLoggedSeq === null) early.push(event);
        else if (event.seq > lastLoggedSeq) rebuilt.push(event);
      });
      const logged = await feed.outputSoFar('e1');
      lastLoggedSeq = logged.at(-1)?.seq ?? 0;
      const lastLogged = lastLoggedSeq;
      rebuilt.unshift(...logged, ...early.filter((event) => event.seq > lastLogged));
      return () => rebuilt;
    }

    const joiners: Promise<() => OutputEvent[]>[] = [];
    for (let seq = 1; seq <= chunks.length; seq += 1) {
      // Watchers join all along, while chunks keep coming.
      if (seq % 20 === 1) joiners.push(join());
      await publisher.feed.publish('e1', output(seq, chunks[seq - 1]));
    }
    const rebuiltBy = await Promise.all(joiners);

    for (const rebuilt of rebuiltBy) {
      await waitFor('the last chunk', () => rebuilt().at(-1)?.seq === chunks.length);
      const events = rebuilt();
      // No duplicate, no gap: exactly seq 1..500, in order.
      expect(events.map((event) => event.seq)).toEqual(chunks.map((_chunk, i) => i + 1));
      expect(events.map((event) => event.data).join('')).toBe(expected);
    }
    expect(rebuiltBy).toHaveLength(25);
  });

  it('stops delivering to a handler that unsubscribed, and leaves the channel after the last one', async () => {
    const a = instance();
    const b = instance();
    const channel = `${keyPrefix}feed:e1`;
    const subscribers = async (): Promise<number> => {
      const reply = (await a.commands.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
      return Number(reply[1]);
    };
    const first: FeedEvent[] = [];
    const second: FeedEvent[] = [];

    const unsubscribeFirst = await b.feed.subscribe('e1', (event) => first.push(event));
    // Resolved means Redis confirmed the SUBSCRIBE.
    expect(await subscribers()).toBe(1);
    const unsubscribeSecond = await b.feed.subscribe('e1', (event) => second.push(event));
    // Both handlers share the instance's one subscriber connection.
    expect(await subscribers()).toBe(1);

    await a.feed.publish('e1', output(1, 'a'));
    await waitFor('both handlers', () => first.length === 1 && second.length === 1);

    unsubscribeFirst();
    unsubscribeFirst(); // twice is harmless
    await a.feed.publish('e1', output(2, 'b'));
    await waitFor('the remaining handler', () => second.length === 2);
    expect(first).toEqual([output(1, 'a')]);
    expect(await subscribers()).toBe(1);

    unsubscribeSecond();
    const deadline = Date.now() + 5000;
    while ((await subscribers()) !== 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await subscribers()).toBe(0);
    await a.feed.publish('e1', { type: 'finished', status: 'completed' });
    // A round trip on b's subscriber connection: anything published before has arrived.
    await pingRedis(b.subscriber, 1000);
    expect(second).toEqual([output(1, 'a'), output(2, 'b')]);

    // Subscribing again after the channel was left works as the first time.
    const third: FeedEvent[] = [];
    await b.feed.subscribe('e1', (event) => third.push(event));
    await a.feed.publish('e1', { type: 'cancel' });
    await waitFor('the new handler', () => third.length === 1);
  });

  it('keeps the other handlers going when one throws', async () => {
    const errors: unknown[] = [];
    const a = instance();
    const b = instance({ onError: (error) => errors.push(error) });
    const heard: FeedEvent[] = [];
    await b.feed.subscribe('e1', () => {
      throw new Error('watcher broke');
    });
    await b.feed.subscribe('e1', (event) => heard.push(event));

    await a.feed.publish('e1', { type: 'cancel' });
    await a.feed.publish('e1', { type: 'cancel' });

    await waitFor('both events', () => heard.length === 2);
    expect(errors).toHaveLength(2);
  });

  it('bounds the life of kept output, and shortens it once the execution is forgotten', async () => {
    const a = instance();
    const outputKey = `${keyPrefix}feed:e1:output`;

    await a.feed.publish('e1', output(1, 'a'));
    expect(await a.commands.pttl(outputKey)).toBeGreaterThan(59 * 60 * 1000);
    expect(await a.commands.pttl(outputKey)).toBeLessThanOrEqual(60 * 60 * 1000);

    await a.feed.forget('e1');
    const ttl = await a.commands.pttl(outputKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60 * 1000);
    // Late joiners still catch up for a while.
    expect(await a.feed.outputSoFar('e1')).toEqual([output(1, 'a')]);

    const short = instance({ outputTtlMs: 200 });
    await short.feed.publish('e2', output(1, 'b'));
    const expiry = Date.now() + 5000;
    while ((await short.feed.outputSoFar('e2')).length > 0 && Date.now() < expiry) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await short.feed.outputSoFar('e2')).toEqual([]);
  });

  it('rejects a publish promptly while Redis is down, and works again once it is back', async () => {
    const a = instance();
    const b = instance();
    const heard: FeedEvent[] = [];
    await b.feed.subscribe('e1', (event) => heard.push(event));

    await server.stop();
    try {
      const started = Date.now();
      await expect(a.feed.publish('e1', output(1, 'a'))).rejects.toThrow();
      await expect(a.feed.publish('e1', { type: 'cancel' })).rejects.toThrow();
      await expect(a.feed.outputSoFar('e1')).rejects.toThrow();
      await expect(pingRedis(a.commands, 500)).rejects.toThrow(/Redis/);
      // A subscribe does not hang either.
      await expect(b.feed.subscribe('e2', () => undefined)).rejects.toThrow();
      // Fail fast: about the command timeout each, not a hang.
      expect(Date.now() - started).toBeLessThan(5 * 3000);
    } finally {
      await server.restart();
    }

    // The connections come back by themselves; b resubscribes its channel.
    const channel = `${keyPrefix}feed:e1`;
    await waitFor('the connections to come back', () =>
      clients.every((redis) => redis.status === 'ready'),
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      const reply = (await a.commands.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
      if (Number(reply[1]) === 1) break;
      if (Date.now() > deadline) throw new Error('b did not resubscribe');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await a.feed.publish('e1', output(1, 'a'));
    await waitFor('the event after the outage', () => heard.length === 1);
    expect(heard).toEqual([output(1, 'a')]);
    // The subscribe that failed left no subscription behind.
    const failed = (await a.commands.call('PUBSUB', 'NUMSUB', `${keyPrefix}feed:e2`)) as [
      string,
      number,
    ];
    expect(Number(failed[1])).toBe(0);
  });
});
