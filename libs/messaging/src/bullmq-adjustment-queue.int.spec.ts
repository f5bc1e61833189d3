import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AdjustmentRecord } from '@brain-net/store';
import { startRedisServer, type RedisServer } from '@brain-net/testing';
import {
  BullmqAdjustmentQueue,
  type AdjustmentAdd,
  type AdjustmentAttempt,
  type AdjustmentAttemptOutcome,
  type BullmqAdjustmentQueueOptions,
} from './bullmq-adjustment-queue';
import { createRedisClient } from './redis-connection';

const PREFIX = 'spec';
const MAX_ATTEMPTS = 3;
const RETRY_DELAY_MS = 100;
/** A cap of pending adjustments no spec reaches but those about the cap. */
const NO_CAP = 1_000_000;

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
    adjustments: '{"parameter_x": "new_value"}',
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

/** The add's answer, which must not be a refusal. */
function stored(answer: AdjustmentAdd): { record: AdjustmentRecord; added: boolean } {
  if ('refused' in answer) throw new Error(`refused: ${answer.pending} pending`);
  return answer;
}

/** Bytes Redis has sent to its clients so far. */
async function bytesSent(redis: Redis): Promise<number> {
  const stats = await redis.info('stats');
  return Number(/total_net_output_bytes:(\d+)/.exec(stats)?.[1]);
}

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
    expect(await a.add(record, NO_CAP)).toEqual({ record, added: true });

    const delivered = await settled(a, record.id);
    expect(delivered).toMatchObject({
      id: record.id,
      status: 'delivered',
      attempts: 3,
      nextAttemptAt: null,
      processorId: 'processor-123',
      adjustments: '{"parameter_x": "new_value"}',
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
    await a.add(record, NO_CAP);

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
    await a.add(record, NO_CAP);

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
    for (const record of records) await a.add(record, NO_CAP);
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
    await a.add(record, NO_CAP);

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

    const answers = (
      await Promise.all([
        a.add(record, NO_CAP),
        b.add(twin, NO_CAP),
        a.add(twin, NO_CAP),
        b.add(record, NO_CAP),
      ])
    ).map(stored);
    expect(answers.filter((answer) => answer.added)).toHaveLength(1);
    const first = answers.find((answer) => answer.added)?.record;
    // Every other add reads the adjustment that first one made.
    for (const answer of answers) expect(answer.record.createdBy).toBe(first?.createdBy);

    const { calls, handler } = scripted([{ kind: 'delivered' }]);
    a.work(handler);
    b.work(handler);
    await settled(b, record.id);
    // Also once delivered: the ended job is kept, so the id stays taken.
    const again = stored(await b.add(record, NO_CAP));
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
    for (const record of [older, newer, other]) await a.add(record, NO_CAP);

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

  it("holds a tenant's cap of pending adjustments across instances, and frees it as they end", async () => {
    const a = instance();
    const b = instance();
    const first = pending();
    expect(await a.add(first, 3)).toMatchObject({ added: true });
    expect(await b.add(pending(), 3)).toMatchObject({ added: true });
    expect(await a.add(pending(), 3)).toMatchObject({ added: true });

    const refused = pending();
    expect(await b.add(refused, 3)).toEqual({ refused: 'too-many-pending', pending: 3 });
    expect(await a.get(refused.id)).toBeUndefined();
    expect((await a.list(0, 10, 'tenant-a')).total).toBe(3);
    // A replay is answered, at the cap too; another tenant has a cap of its own.
    expect(await b.add(first, 3)).toMatchObject({ added: false, record: { id: first.id } });
    expect(await a.add(pending({ tenant: 'tenant-b' }), 3)).toMatchObject({ added: true });

    // Twenty at once on two instances: none beyond the cap.
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).add(pending({ tenant: 'tenant-c' }), 5)),
    );
    expect(many.filter((answer) => 'added' in answer && answer.added)).toHaveLength(5);

    const { handler } = scripted([{ kind: 'delivered' }]);
    a.work(handler);
    await settled(b, first.id);
    expect(await b.add(pending(), 3)).toMatchObject({ added: true });
  });

  it('frees the place of an adjustment whose end its worker never noted', async () => {
    const a = instance();
    const record = pending();
    await a.add(record, 1);
    // As if the worker had died between the end of the job and the note.
    const redis = client('commands');
    await redis.hset(`${PREFIX}:${queueName}:${record.id}`, 'finishedOn', Date.now());
    expect(await a.add(pending(), 1)).toMatchObject({ added: true });
  });

  it("lists one tenant's page reading its jobs only, while another tenant holds many large ones", async () => {
    const a = instance();
    const reader = instance();
    const large = JSON.stringify({ blob: 'x'.repeat(200 * 1024) });
    const t0 = Date.now() - 10_000;
    // In batches: one connection's command timeout bounds each batch of 4 MB.
    for (let batch = 0; batch < 15; batch += 1) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          a.add(pending({ adjustments: large, createdAt: new Date(t0 + batch * 20 + i) }), NO_CAP),
        ),
      );
    }
    const mine = [pending({ tenant: 'tenant-b' }), pending({ tenant: 'tenant-b' })];
    for (const record of mine) await a.add(record, NO_CAP);

    const redis = client('commands');
    const getJob = jest.spyOn(Queue.prototype, 'getJob');
    const before = await bytesSent(redis);
    const started = performance.now();
    const page = await reader.list(0, 20, 'tenant-b');
    const ms = performance.now() - started;
    const sent = (await bytesSent(redis)) - before;
    expect(page.total).toBe(2);
    expect(page.items.map((item) => item.id).sort()).toEqual(mine.map((r) => r.id).sort());
    expect(getJob).toHaveBeenCalledTimes(2);
    expect(sent).toBeLessThan(20_000);
    expect(ms).toBeLessThan(200);

    // An admin's page of every tenant's reads that page's jobs, not the 60 MB.
    getJob.mockClear();
    const before2 = await bytesSent(redis);
    const all = await reader.list(2, 5, null);
    expect(all.total).toBe(302);
    expect(all.items).toHaveLength(5);
    expect(all.items[0].adjustments).toBe(large);
    expect(getJob).toHaveBeenCalledTimes(5);
    expect((await bytesSent(redis)) - before2).toBeLessThan(6 * 210 * 1024);
    getJob.mockRestore();
  });

  it('forgets listed ids whose job the history limit removed', async () => {
    const a = instance({ keepEnded: 2 });
    const { handler } = scripted([{ kind: 'delivered' }]);
    a.work(handler);
    // Made long enough ago that an entry without its job is no add under way.
    const old = Date.now() - 120_000;
    const records = [0, 1, 2].map((i) => pending({ createdAt: new Date(old + i) }));
    for (const record of records) {
      await a.add(record, NO_CAP);
      await settled(a, record.id);
    }
    const listed = await a.list(0, 10, 'tenant-a');
    expect(listed.items.map((item) => item.id)).toEqual([records[2].id, records[1].id]);
    expect(await a.list(0, 10, 'tenant-a')).toMatchObject({ total: 2 });
    expect(await a.list(0, 10, null)).toMatchObject({ total: 2 });
  });

  it('keeps at most keepEnded ended adjustments', async () => {
    const a = instance({ keepEnded: 2 });
    const { handler } = scripted([{ kind: 'delivered' }]);
    a.work(handler);
    const records = [pending(), pending(), pending()];
    for (const record of records) {
      await a.add(record, NO_CAP);
      await settled(a, record.id);
    }
    expect(await a.countByStatus()).toEqual({ pending: 0, delivered: 2, failed: 0 });
    expect(await a.get(records[0].id)).toBeUndefined();
  });
});
