import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AdjustmentRecord } from '@brain-net/store';
import { startRedisServer, type RedisServer } from '@brain-net/store/testing/redis-server';
import {
  BullmqAdjustmentQueue,
  type AdjustmentAttempt,
  type AdjustmentAttemptOutcome,
  type BullmqAdjustmentQueueOptions,
} from './bullmq-adjustment-queue';
import { createRedisClient } from './redis-connection';

const PREFIX = 'spec';
const MAX_ATTEMPTS = 3;
const RETRY_DELAY_MS = 100;

/** Polls until `read` gives a value; fails with `what` after the timeout. */
async function eventually<T>(
  what: string,
  read: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function pending(overrides: Partial<AdjustmentRecord> = {}): AdjustmentRecord {
  const now = new Date();
  return {
    id: randomUUID(),
    tenant: 'tenant-a',
    createdBy: 'key-a',
    processorId: 'processor-123',
    adjustments: { parameter_x: 'new_value' },
    reason: 'faster',
    executionId: null,
    status: 'pending',
    attempts: 0,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    nextAttemptAt: now,
    deliveredAt: null,
    ...overrides,
  };
}

/** A handler that answers each attempt from a script, and records what it was given. */
function scripted(answers: AdjustmentAttemptOutcome[]) {
  const calls: { id: string; attempt: AdjustmentAttempt; at: number }[] = [];
  const handler = (record: AdjustmentRecord, attempt: AdjustmentAttempt) => {
    calls.push({ id: record.id, attempt, at: Date.now() });
    return Promise.resolve(answers[Math.min(calls.length, answers.length) - 1]);
  };
  return { calls, handler };
}

const retryable = (message: string): AdjustmentAttemptOutcome => ({ kind: 'retryable', message });

describe('BullmqAdjustmentQueue (real Redis)', () => {
  let server: RedisServer;
  let clients: Redis[] = [];
  let queues: BullmqAdjustmentQueue[] = [];
  let errors: unknown[] = [];
  let delays: number[] = [];
  let queueName = '';
  let testNumber = 0;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await server.destroy();
  });

  beforeEach(() => {
    testNumber += 1;
    queueName = `adjustment-spec-${testNumber}`;
    errors = [];
    delays = [];
  });

  afterEach(async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    clients.filter((client) => client.status !== 'end').forEach((client) => client.disconnect());
    queues = [];
    clients = [];
  });

  function client(purpose: 'commands' | 'worker'): Redis {
    const redis = createRedisClient(server.url, purpose, `adjustment-spec-${purpose}`);
    redis.on('error', (error) => errors.push(error));
    clients.push(redis);
    return redis;
  }

  /** One service instance's queue, on connections of its own. */
  function instance(options: Partial<BullmqAdjustmentQueueOptions> = {}): BullmqAdjustmentQueue {
    const queue = new BullmqAdjustmentQueue({
      queueName,
      prefix: PREFIX,
      commands: client('commands'),
      workerConnection: () => client('worker'),
      maxAttempts: MAX_ATTEMPTS,
      retryDelayMs: (failedAttempts) => {
        delays.push(failedAttempts);
        return RETRY_DELAY_MS * failedAttempts;
      },
      concurrency: 4,
      onError: (error) => errors.push(error),
      ...options,
    });
    queues.push(queue);
    return queue;
  }

  const settled = (queue: BullmqAdjustmentQueue, id: string) =>
    eventually(`${id} to settle`, async () => {
      const record = await queue.get(id);
      return record && record.status !== 'pending' ? record : undefined;
    });

  it('retries with the given backoff, then records the adjustment delivered', async () => {
    const a = instance();
    const { calls, handler } = scripted([
      retryable('answered 503'),
      retryable('answered 502'),
      { kind: 'delivered' },
    ]);
    a.work(handler);
    const record = pending();
    expect(await a.add(record)).toEqual({ record, added: true });

    const delivered = await settled(a, record.id);
    expect(delivered).toMatchObject({
      id: record.id,
      status: 'delivered',
      attempts: 3,
      nextAttemptAt: null,
      processorId: 'processor-123',
      adjustments: { parameter_x: 'new_value' },
      createdAt: record.createdAt,
    });
    expect(delivered.lastError).toBe('answered 502');
    expect(delivered.deliveredAt?.getTime()).toBeGreaterThanOrEqual(calls[2].at);
    expect(calls.map((call) => call.attempt)).toEqual([
      { number: 1, last: false },
      { number: 2, last: false },
      { number: 3, last: true },
    ]);
    // The strategy was asked after each failed attempt, and its delay was kept.
    expect(delays).toEqual([1, 2]);
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(RETRY_DELAY_MS);
    expect(calls[2].at - calls[1].at).toBeGreaterThanOrEqual(2 * RETRY_DELAY_MS);
    expect(await a.countByStatus()).toEqual({ pending: 0, delivered: 1, failed: 0 });
    expect(errors).toEqual([]);
  });

  it('shows a retry as pending, with its error and when it comes', async () => {
    const a = instance({ retryDelayMs: () => 60_000 });
    const { handler } = scripted([retryable('answered 503')]);
    a.work(handler);
    const record = pending();
    await a.add(record);

    const waiting = await eventually('the first attempt', async () => {
      const read = await a.get(record.id);
      return read && read.attempts > 0 ? read : undefined;
    });
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1, lastError: 'answered 503' });
    const next = waiting.nextAttemptAt?.getTime() ?? 0;
    expect(next).toBeGreaterThan(Date.now() + 50_000);
    expect(next).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(await a.countByStatus()).toEqual({ pending: 1, delivered: 0, failed: 0 });
  });

  it('records a rejected adjustment failed at once, after one attempt', async () => {
    const a = instance();
    const { calls, handler } = scripted([{ kind: 'rejected', message: 'rejected with 400' }]);
    a.work(handler);
    const record = pending();
    await a.add(record);

    const failed = await settled(a, record.id);
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'rejected with 400',
      nextAttemptAt: null,
      deliveredAt: null,
    });
    expect(calls).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('never shows an adjustment ended with the delivery state of before, however often read', async () => {
    const a = instance();
    const reader = instance();
    const { handler } = scripted([{ kind: 'rejected', message: 'rejected with 400' }]);
    const records = Array.from({ length: 20 }, () => pending());
    for (const record of records) await a.add(record);
    a.work(handler);

    // Reads race the worker: each stops at the first ended view of its adjustment.
    const views = await Promise.all([
      ...records.map((record) => settled(reader, record.id)),
      ...records.map((record) => settled(a, record.id)),
    ]);
    for (const view of views) {
      expect(view).toMatchObject({ status: 'failed', attempts: 1, lastError: 'rejected with 400' });
    }
    const listed = await reader.list(0, 100, null);
    expect(listed.items.map((item) => [item.status, item.attempts])).toEqual(
      records.map(() => ['failed', 1]),
    );
  });

  it('records the adjustment failed with the last message once the attempts run out', async () => {
    const a = instance();
    const { calls, handler } = scripted([
      retryable('first'),
      retryable('second'),
      retryable('gave up: third'),
    ]);
    a.work(handler);
    const record = pending();
    await a.add(record);

    const failed = await settled(a, record.id);
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      lastError: 'gave up: third',
      nextAttemptAt: null,
    });
    expect(calls).toHaveLength(MAX_ATTEMPTS);
    expect(calls.at(-1)?.attempt.last).toBe(true);
    expect(await a.countByStatus()).toEqual({ pending: 0, delivered: 0, failed: 1 });
  });

  it('makes one job of one id added on two instances at once, and delivers it once', async () => {
    const a = instance();
    const b = instance();
    const record = pending();
    const twin = pending({ id: record.id, createdBy: 'key-b' });

    const answers = await Promise.all([a.add(record), b.add(twin), a.add(twin), b.add(record)]);
    expect(answers.filter((answer) => answer.added)).toHaveLength(1);
    const first = answers.find((answer) => answer.added)?.record;
    // Every other add reads the adjustment that first one made.
    for (const answer of answers) expect(answer.record.createdBy).toBe(first?.createdBy);

    const { calls, handler } = scripted([{ kind: 'delivered' }]);
    a.work(handler);
    b.work(handler);
    await settled(b, record.id);
    // Also once delivered: the ended job is kept, so the id stays taken.
    const again = await b.add(record);
    expect(again).toMatchObject({ added: false, record: { status: 'delivered' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls.map((call) => call.id)).toEqual([record.id]);
  });

  it('is readable, listed and counted from another instance, filtered by tenant', async () => {
    const a = instance();
    const b = instance();
    const t0 = Date.now();
    const older = pending({ createdAt: new Date(t0 - 2000) });
    const newer = pending({ createdAt: new Date(t0 - 1000) });
    const other = pending({ tenant: 'tenant-b', createdAt: new Date(t0) });
    for (const record of [older, newer, other]) await a.add(record);

    expect(await b.get(newer.id)).toMatchObject({
      id: newer.id,
      tenant: 'tenant-a',
      status: 'pending',
      attempts: 0,
      lastError: null,
      createdAt: newer.createdAt,
    });
    expect(await b.get('no-such-adjustment')).toBeUndefined();

    const all = await b.list(0, 10, null);
    expect(all.total).toBe(3);
    expect(all.items.map((r) => r.id)).toEqual([other.id, newer.id, older.id]);
    const mine = await b.list(0, 10, 'tenant-a');
    expect(mine).toMatchObject({ total: 2 });
    expect(mine.items.map((r) => r.id)).toEqual([newer.id, older.id]);
    const secondPage = await b.list(1, 1, 'tenant-a');
    expect(secondPage.items.map((r) => r.id)).toEqual([older.id]);
    expect(await b.countByStatus()).toEqual({ pending: 3, delivered: 0, failed: 0 });

    const { handler } = scripted([{ kind: 'delivered' }]);
    b.work(handler);
    for (const record of [older, newer, other]) await settled(a, record.id);
    expect((await a.list(0, 10, null)).items.map((r) => r.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);
    expect(await a.countByStatus()).toEqual({ pending: 0, delivered: 3, failed: 0 });
  });

  it('keeps at most keepEnded ended adjustments', async () => {
    const a = instance({ keepEnded: 2 });
    const { handler } = scripted([{ kind: 'delivered' }]);
    a.work(handler);
    const records = [pending(), pending(), pending()];
    for (const record of records) {
      await a.add(record);
      await settled(a, record.id);
    }
    expect(await a.countByStatus()).toEqual({ pending: 0, delivered: 2, failed: 0 });
    expect(await a.get(records[0].id)).toBeUndefined();
  });
});
