import type { Redis } from 'ioredis';
import { z } from 'zod';
import { EXECUTION_STATUSES, defineLuaCommands, jsonText, readLua } from '@brain-net/store';
import { ExecutionFeed, type FeedEvent, type OutputEvent } from './execution-feed';

export interface RedisExecutionFeedOptions {
  /** Prefix of every key and channel of the feed, e.g. 'brain-net:'. */
  readonly keyPrefix: string;
  /** Lifetime of an execution's kept output after its last chunk; 1 h by default. */
  readonly outputTtlMs?: number;
  /** How long a forgotten execution's output stays, for late joiners; 60 s by default. */
  readonly forgottenTtlMs?: number;
  /** Hears a handler that threw and a failed background UNSUBSCRIBE; ignored by default. */
  readonly onError?: (error: unknown) => void;
}

const DEFAULT_OUTPUT_TTL_MS = 60 * 60 * 1000;
const DEFAULT_FORGOTTEN_TTL_MS = 60 * 1000;

/** The feed's script: an output event logged and published in one step (see the file). */
const FEED_COMMANDS = {
  brainNetFeedPublishOutput: { numberOfKeys: 1, lua: readLua(__dirname, 'publish-output.lua') },
} as const;

/** The methods FEED_COMMANDS defines. */
interface FeedCommands {
  brainNetFeedPublishOutput(
    logKey: string,
    eventJson: string,
    ttlMs: number,
    channel: string,
  ): Promise<unknown>;
}

interface Subscription {
  readonly handler: (event: FeedEvent) => void;
}

/** The local subscriptions to one channel, and Redis' confirmation of the SUBSCRIBE. */
interface ChannelState {
  readonly subscriptions: Set<Subscription>;
  readonly subscribed: Promise<void>;
}

/**
 * The feed in cluster mode: Redis pub/sub, one channel per execution, and a list per
 * execution that keeps its output for watchers that join late. All local handlers share
 * one subscriber connection; a channel is subscribed while at least one of them listens.
 */
export class RedisExecutionFeed extends ExecutionFeed {
  private readonly channels = new Map<string, ChannelState>();
  private readonly keyPrefix: string;
  private readonly outputTtlMs: number;
  private readonly forgottenTtlMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly commands: Redis & FeedCommands;
  private closed = false;

  private readonly onMessage = (channel: string, message: string): void => {
    this.dispatch(channel, message);
  };

  constructor(
    commands: Redis,
    private readonly subscriber: Redis,
    options: RedisExecutionFeedOptions,
  ) {
    super();
    this.keyPrefix = options.keyPrefix;
    this.outputTtlMs = options.outputTtlMs ?? DEFAULT_OUTPUT_TTL_MS;
    this.forgottenTtlMs = options.forgottenTtlMs ?? DEFAULT_FORGOTTEN_TTL_MS;
    this.onError = options.onError ?? (() => undefined);
    this.commands = defineLuaCommands<FeedCommands>(commands, FEED_COMMANDS);
    subscriber.on('message', this.onMessage);
  }

  async publish(executionId: string, event: FeedEvent): Promise<void> {
    const json = JSON.stringify(event);
    const channel = this.channelOf(executionId);
    if (event.type === 'output') {
      await this.commands.brainNetFeedPublishOutput(
        this.outputKeyOf(executionId),
        json,
        this.outputTtlMs,
        channel,
      );
    } else {
      await this.commands.publish(channel, json);
    }
  }

  async subscribe(executionId: string, handler: (event: FeedEvent) => void): Promise<() => void> {
    if (this.closed) throw new Error('The execution feed is closed');
    const channel = this.channelOf(executionId);
    let state = this.channels.get(channel);
    if (!state) {
      state = { subscriptions: new Set(), subscribed: this.subscribeChannel(channel) };
      this.channels.set(channel, state);
    }
    const subscription: Subscription = { handler };
    state.subscriptions.add(subscription);
    const channelState = state;
    const unsubscribe = (): void => this.unsubscribe(channel, channelState, subscription);
    try {
      // Also when another handler asked first: none resolves before Redis confirmed.
      await state.subscribed;
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  async outputSoFar(executionId: string): Promise<OutputEvent[]> {
    const kept = await this.commands.lrange(this.outputKeyOf(executionId), 0, -1);
    const events: OutputEvent[] = [];
    for (const json of kept) {
      const event = parseFeedEvent(json);
      if (event?.type === 'output') events.push(event);
    }
    return events;
  }

  async forget(executionId: string): Promise<void> {
    // Not deleted at once: a watcher that joins just now still catches up from it.
    await this.commands.pexpire(this.outputKeyOf(executionId), this.forgottenTtlMs);
  }

  /** Unsubscribes every channel of this feed; the connections stay open (they are not ours). */
  async close(): Promise<void> {
    this.closed = true;
    this.subscriber.off('message', this.onMessage);
    const channels = [...this.channels.keys()];
    this.channels.clear();
    if (channels.length > 0) await this.subscriber.unsubscribe(...channels);
  }

  private channelOf(executionId: string): string {
    return `${this.keyPrefix}feed:${executionId}`;
  }

  private outputKeyOf(executionId: string): string {
    return `${this.keyPrefix}feed:${executionId}:output`;
  }

  private async subscribeChannel(channel: string): Promise<void> {
    await this.subscriber.subscribe(channel);
  }

  private unsubscribe(channel: string, state: ChannelState, subscription: Subscription): void {
    if (!state.subscriptions.delete(subscription)) return;
    if (state.subscriptions.size > 0 || this.channels.get(channel) !== state) return;
    this.channels.delete(channel);
    // Also after a failed SUBSCRIBE: a timed-out one may still reach Redis later. Commands
    // go out in order, so a later SUBSCRIBE of the same channel still wins.
    this.subscriber.unsubscribe(channel).catch((error: unknown) => this.onError(error));
  }

  private dispatch(channel: string, message: string): void {
    const state = this.channels.get(channel);
    if (!state) return;
    const event = parseFeedEvent(message);
    if (!event) return;
    // A copy: a handler may unsubscribe (itself or another) while we iterate.
    for (const subscription of [...state.subscriptions]) {
      if (!state.subscriptions.has(subscription)) continue;
      try {
        subscription.handler(event);
      } catch (error) {
        // One failing watcher must not starve the others, nor break the connection's reader.
        this.onError(error);
      }
    }
  }
}

const statusSchema = z.enum(EXECUTION_STATUSES);

/** A feed message: an event, as publish wrote it. */
const feedEventSchema = jsonText(
  z.discriminatedUnion('type', [
    z.object({
      type: z.literal('output'),
      stream: z.enum(['stdout', 'stderr']),
      data: z.string(),
      seq: z.int(),
    }),
    z.object({ type: z.literal('status'), status: statusSchema }),
    z.object({ type: z.literal('finished'), status: statusSchema }),
    z.object({ type: z.literal('cancel') }),
  ]),
) satisfies z.ZodType<FeedEvent>;

/** The event a message holds, or null for anything malformed (never trusted blindly). */
export function parseFeedEvent(json: string): FeedEvent | null {
  const parsed = feedEventSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}
