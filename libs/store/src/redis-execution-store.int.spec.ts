import type { ExecutionRecord } from './execution-record';
import { Redis } from 'ioredis';
import { RedisExecutionStore, RedisStoreOptions, checkRedisLayout } from './redis-execution-store';
import { behavesAsAnExecutionStore } from './testing/execution-store-contract';
import { INPUT, MB, T0, record } from './testing/execution-records';
import { RedisServer, startRedisServer } from '@brain-net/testing';

const PREFIX = 'brain-net:';

/** A client that stays quiet while the server is down (ioredis logs unhandled errors). */
function connect(server: RedisServer, options: { maxRetriesPerRequest?: number } = {}): Redis {
  const client = new Redis(server.url, options);
  client.on('error', () => undefined);
  return client;
}

describe('RedisExecutionStore', () => {
  let server: RedisServer;
  let redis: Redis;
  let store: RedisExecutionStore;

  const open = (options: Partial<RedisStoreOptions> = {}, client = redis) =>
    new RedisExecutionStore(client, { keyPrefix: PREFIX, executionHistoryLimit: 10, ...options });

  beforeAll(async () => {
    server = await startRedisServer();
    redis = connect(server);
  });

  beforeEach(async () => {
    await redis.flushall();
    store = open();
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.destroy();
  });

  behavesAsAnExecutionStore(() => store);

  it('gives back what was created and saved, dates included; the input stays as created', async () => {
    const queued = record('a', 'queued');
    expect(await store.create(queued, INPUT, null)).toBeNull();
    expect(await store.get('a')).toEqual(queued);
    expect(await store.input('a')).toEqual(INPUT);

    const completed: ExecutionRecord = {
      ...record('a', 'completed'),
      stderr: 'warning: é ✓ / "quoted" \\ \n',
      truncated: { stdout: true, stderr: false },
      exitCode: 1,
      error: 'ValueError: bad',
      oomKilled: true,
      exceptions: [
        {
          type: 'ValueError',
          message: 'bad',
          line: 3,
          frames: [{ file: '<sandbox>', line: 3, function: '<module>', source: 'raise' }],
          frames_omitted: 0,
          cause: null,
          cause_relation: null,
        },
      ],
    };
    await store.save(completed);
    const read = await store.get('a');
    expect(read).toEqual(completed);
    expect(read?.queuedAt).toBeInstanceOf(Date);
    expect(read?.endedAt).toBeInstanceOf(Date);
    expect(await store.input('a')).toEqual(INPUT);
    expect(await store.get('unknown')).toBeUndefined();
    expect(await store.input('unknown')).toBeUndefined();
  });

  it('reads an input written before stdin existed as one without stdin, in the same layout', async () => {
    await store.create(record('old', 'queued'), INPUT, null);
    // What the release before stdin left: the input hash as it wrote it, no stdin field.
    await redis.del(`${PREFIX}exec:old:input`);
    await redis.hset(`${PREFIX}exec:old:input`, 'code', INPUT.code, 'inputJson', INPUT.inputJson);
    const read = await store.input('old');
    expect(read).toEqual(INPUT);
    expect(read).not.toHaveProperty('stdin');

    // No stdin, no field: that release reads this one's inputs as it reads its own.
    await store.create(record('new', 'queued', 1), INPUT, null);
    expect(await redis.hkeys(`${PREFIX}exec:new:input`)).toEqual(['code', 'inputJson']);
    await store.create(record('given', 'queued', 2), { ...INPUT, stdin: 'x\n' }, null);
    expect(await redis.hgetall(`${PREFIX}exec:given:input`)).toEqual({ ...INPUT, stdin: 'x\n' });
    await checkRedisLayout(redis, PREFIX);
  });

  it('stores stdin with an Idempotency-Key claim as without one', async () => {
    const claimed = await store.create(
      record('keyed', 'queued'),
      { ...INPUT, stdin: 'a\nb\n' },
      { key: 'k1', fingerprint: 'f1' },
    );
    expect(claimed).toBeNull();
    expect(await store.input('keyed')).toEqual({ ...INPUT, stdin: 'a\nb\n' });
    expect(await store.get('keyed')).toEqual(record('keyed', 'queued'));
    expect(await store.findByIdempotencyKey('tenant-a', 'k1')).toEqual({
      id: 'keyed',
      fingerprint: 'f1',
    });
  });

  it('refuses to create an id that exists, changing nothing', async () => {
    await store.create(record('a', 'queued'), INPUT, null);
    await expect(store.create(record('a', 'completed', 5), INPUT, null)).rejects.toThrow(
      /already exists/,
    );
    expect(await store.get('a')).toEqual(record('a', 'queued'));
  });

  it('does not bring back a record the history limit dropped', async () => {
    await store.save(record('never-created', 'completed'));
    expect(await store.get('never-created')).toBeUndefined();
    expect(await redis.keys(`${PREFIX}*never-created*`)).toEqual([]);
    expect(await redis.zcard(`${PREFIX}execs:finished`)).toBe(0);
  });

  it('lists summaries only, newest first, paginated, with the total', async () => {
    for (const [i, id] of ['a', 'b', 'c'].entries())
      await store.create(record(id, 'completed', i), INPUT);
    // Same millisecond as c: ties list by id, descending.
    await store.create(record('d', 'running', 2), INPUT, null);

    const page = await store.list(0, 2, null);
    expect(page.items.map((r) => r.id)).toEqual(['d', 'c']);
    expect(page.total).toBe(4);
    expect(Object.keys(page.items[1]).sort()).toEqual(
      [
        'id',
        'tenant',
        'createdBy',
        'requestId',
        'processorId',
        'queuedAt',
        'status',
        'startedAt',
        'endedAt',
        'exitCode',
        'error',
        'batchId',
        'batchIndex',
      ].sort(),
    );
    expect(page.items[1]).toEqual({
      id: 'c',
      tenant: 'tenant-a',
      createdBy: 'key-a',
      requestId: 'request-c',
      processorId: null,
      queuedAt: new Date(T0 + 2),
      status: 'completed',
      startedAt: new Date(T0 + 102),
      endedAt: new Date(T0 + 302),
      exitCode: 0,
      error: null,
      batchId: null,
      batchIndex: null,
    });
    expect((await store.list(2, 2, null)).items.map((r) => r.id)).toEqual(['b', 'a']);
    expect(await store.list(4, 2, null)).toEqual({ items: [], total: 4 });
    expect(await store.list(0, 0, null)).toEqual({ items: [], total: 4 });
  });

  it('lists one tenant’s executions, or every tenant’s', async () => {
    await store.create(record('a', 'completed', 0), { code: 'x', inputJson: '{}' });
    await store.create(
      { ...record('b', 'completed', 1), tenant: 'tenant-b', createdBy: 'key-b' },
      { code: 'x', inputJson: '{}' },
    );
    await store.create(record('c', 'queued', 2), { code: 'x', inputJson: '{}' });
    const mine = await store.list(0, 10, 'tenant-a');
    expect(mine.items.map((item) => item.id)).toEqual(['c', 'a']);
    expect(mine.total).toBe(2);
    expect((await store.list(0, 10, 'tenant-b')).items).toEqual([
      expect.objectContaining({ id: 'b', tenant: 'tenant-b', createdBy: 'key-b' }),
    ]);
    expect(await store.list(0, 10, 'nobody')).toEqual({ items: [], total: 0 });
    expect((await store.list(0, 10, null)).total).toBe(3);
  });

  it('reads a record for its own tenant only, another tenant’s without sending its fields', async () => {
    await store.create(
      { ...record('own', 'completed'), stdout: 'o'.repeat(MB) },
      { code: 'x', inputJson: '{}' },
    );
    expect((await store.get('own', 'tenant-a'))?.stdout).toHaveLength(MB);
    expect((await store.get('own', null))?.id).toBe('own');
    const sentBefore = await bytesSent(redis);
    expect(await store.get('own', 'tenant-b')).toBeUndefined();
    expect((await bytesSent(redis)) - sentBefore).toBeLessThan(16 * 1024);
    // A tenant named like another's JSON cannot match it.
    expect(await store.get('own', '"tenant-a"')).toBeUndefined();
    expect(await store.get('missing', 'tenant-a')).toBeUndefined();
  });

  it('lists without reading the records: summaries apart, 1 MiB outputs never sent', async () => {
    for (let i = 0; i < 5; i += 1) {
      await store.create(
        { ...record(`big${i}`, 'completed', i), stdout: 'o'.repeat(MB) },
        { code: 'x', inputJson: `"${'i'.repeat(MB)}"` },
      );
    }
    const sentBefore = await bytesSent(redis);
    const page = await store.list(0, 5, null);
    const sent = (await bytesSent(redis)) - sentBefore;
    expect(page.items.map((item) => item.id)).toEqual(['big4', 'big3', 'big2', 'big1', 'big0']);
    expect(sent).toBeLessThan(64 * 1024);

    // A record key of the wrong type fails any read of it (WRONGTYPE); the listing does not care.
    await redis.del(`${PREFIX}exec:big4`);
    await redis.rpush(`${PREFIX}exec:big4`, 'not a record');
    const [newest] = (await store.list(0, 1, null)).items;
    expect(newest).toMatchObject({ id: 'big4', status: 'completed' });
    expect(newest).not.toHaveProperty('stdout');
    await expect(store.get('big4')).rejects.toThrow(/WRONGTYPE/);
  });

  it('finds a submit by its tenant and Idempotency-Key, and stores no second one under it', async () => {
    await store.create(record('a', 'queued'), INPUT, { key: 'k-1', fingerprint: 'f-a' });
    await store.create({ ...record('b', 'queued', 1), tenant: 'tenant-b' }, INPUT, {
      key: 'k-1',
      fingerprint: 'f-b',
    });
    expect(await store.findByIdempotencyKey('tenant-a', 'k-1')).toEqual({
      id: 'a',
      fingerprint: 'f-a',
    });
    expect(await store.findByIdempotencyKey('tenant-b', 'k-1')).toEqual({
      id: 'b',
      fingerprint: 'f-b',
    });
    expect(await store.findByIdempotencyKey('tenant-a', 'k-2')).toBeUndefined();
    // A key already claimed stores nothing and names the earlier submit.
    expect(
      await store.create(record('c', 'queued', 2), INPUT, { key: 'k-1', fingerprint: 'f-x' }),
    ).toEqual({ id: 'a', fingerprint: 'f-a' });
    expect(await store.get('c')).toBeUndefined();
    expect(await store.input('c')).toBeUndefined();
    expect(await redis.keys(`${PREFIX}exec:c*`)).toEqual([]);
    expect((await store.list(0, 10, null)).total).toBe(2);
  });

  it('keeps tenants’ Idempotency-Keys apart even when a tenant name holds a colon', async () => {
    await store.create({ ...record('a', 'queued'), tenant: 'x:y' }, INPUT, {
      key: 'z',
      fingerprint: 'f-a',
    });
    expect(await store.findByIdempotencyKey('x', 'y:z')).toBeUndefined();
    expect(
      await store.create({ ...record('b', 'queued', 1), tenant: 'x' }, INPUT, {
        key: 'y:z',
        fingerprint: 'f-b',
      }),
    ).toBeNull();
    expect(await store.findByIdempotencyKey('x:y', 'z')).toEqual({ id: 'a', fingerprint: 'f-a' });
    expect(await store.findByIdempotencyKey('x', 'y:z')).toEqual({ id: 'b', fingerprint: 'f-b' });
  });

  it('stores one execution when two instances take the same Idempotency-Key at once', async () => {
    const other = connect(server);
    try {
      const otherStore = open({}, other);
      await Promise.all([redis.ping(), other.ping()]);
      const pairs = Array.from({ length: 20 }, (_, i) =>
        Promise.all([
          store.create(record(`one-${i}`, 'queued', i), INPUT, {
            key: `k-${i}`,
            fingerprint: `f-one-${i}`,
          }),
          otherStore.create(record(`two-${i}`, 'queued', i), INPUT, {
            key: `k-${i}`,
            fingerprint: `f-two-${i}`,
          }),
        ]),
      );
      const answers = await Promise.all(pairs);

      for (const [i, [one, two]] of answers.entries()) {
        // Exactly one of the pair was stored; the other names it.
        expect([one, two].filter((earlier) => earlier === null)).toHaveLength(1);
        const winner = one === null ? `one-${i}` : `two-${i}`;
        const loser = one === null ? `two-${i}` : `one-${i}`;
        expect(one ?? two).toEqual({ id: winner, fingerprint: `f-${winner}` });
        expect(await store.get(winner)).toBeDefined();
        expect(await store.get(loser)).toBeUndefined();
        expect(await store.findByIdempotencyKey('tenant-a', `k-${i}`)).toEqual({
          id: winner,
          fingerprint: `f-${winner}`,
        });
      }
      expect((await store.list(0, 100, null)).total).toBe(20);
    } finally {
      other.disconnect();
    }
  });

  it('closes every unfinished execution as failed in one go, and only those', async () => {
    await store.create(record('done', 'completed'), INPUT, null);
    await store.create(record('waiting', 'queued', 1), INPUT, null);
    await store.create(record('busy', 'running', 2), INPUT, null);
    // Saved as finished: no longer unfinished.
    await store.create(record('finished-later', 'running', 3), INPUT, null);
    await store.save(record('finished-later', 'completed', 3));
    const endedAt = new Date(T0 + 5000);

    expect(await store.closeUnfinished(endedAt, 'restarted')).toBe(2);

    for (const [id, status, after] of [
      ['waiting', 'queued', 1],
      ['busy', 'running', 2],
    ] as const) {
      // Only status, endedAt and error change.
      expect(await store.get(id)).toEqual({
        ...record(id, status, after),
        status: 'failed',
        endedAt,
        error: 'restarted',
      });
    }
    expect((await store.list(0, 10, null)).items.find((s) => s.id === 'busy')).toMatchObject({
      status: 'failed',
      endedAt,
      error: 'restarted',
    });
    expect(await store.get('done')).toEqual(record('done', 'completed'));
    expect(await store.get('finished-later')).toEqual(record('finished-later', 'completed', 3));
    expect(await store.closeUnfinished(endedAt, 'restarted')).toBe(0);
  });

  it('drops the oldest finished records beyond the history limit, never unfinished ones', async () => {
    store = open({ executionHistoryLimit: 3 });
    await store.create(record('old-running', 'running', 0), INPUT, null);
    await store.create(record('f1', 'completed', 1), INPUT, { key: 'k-f1', fingerprint: 'f' });
    for (const [i, id] of ['f2', 'f3'].entries())
      await store.create(record(id, 'completed', i + 2), INPUT);
    await store.create(record('new', 'queued', 10), INPUT, null);

    const ids = (await store.list(0, 10, null)).items.map((r) => r.id);
    expect(ids).toEqual(['new', 'f3', 'f2', 'old-running']);
    expect((await store.list(0, 10, 'tenant-a')).total).toBe(4);
    // Everything f1 had is gone, its Idempotency-Key freed.
    expect(await redis.keys(`${PREFIX}*f1*`)).toEqual([]);
    expect(await store.findByIdempotencyKey('tenant-a', 'k-f1')).toBeUndefined();
    expect(await store.input('f1')).toBeUndefined();
  });

  it('drops a backlog of finished records a few per create', async () => {
    store = open({ executionHistoryLimit: 100 });
    for (let i = 0; i < 20; i += 1) await store.create(record(`old${i}`, 'running', i), INPUT);
    await store.closeUnfinished(new Date(T0 + 100), 'restarted');
    store = open({ executionHistoryLimit: 5 });

    await store.create(record('n1', 'queued', 100), INPUT);
    // 21 records, 16 beyond the limit: the oldest 4 go now.
    expect((await store.list(0, 100, null)).total).toBe(17);
    for (let i = 2; i <= 5; i += 1) await store.create(record(`n${i}`, 'queued', 100 + i), INPUT);
    const page = await store.list(0, 100, null);
    expect(page.items.map((item) => item.id)).toEqual(['n5', 'n4', 'n3', 'n2', 'n1']);
    expect(await redis.zcard(`${PREFIX}execs:finished`)).toBe(0);
  });

  it('records the layout version, and refuses a Redis holding another', async () => {
    await checkRedisLayout(redis, PREFIX);
    expect(await redis.get(`${PREFIX}schema`)).toBe('1');
    await checkRedisLayout(redis, PREFIX);

    await redis.set(`${PREFIX}schema`, '2');
    await expect(checkRedisLayout(redis, PREFIX)).rejects.toThrow(
      /brain-net:schema holds execution store layout version 2; this release reads version 1/,
    );
    // Another prefix is another layout.
    await checkRedisLayout(redis, 'other:');
  });

  it('runs its scripts again after Redis forgot them (SCRIPT FLUSH)', async () => {
    await store.create(record('a', 'queued'), INPUT, null);
    await redis.script('FLUSH');
    expect(await store.save(record('a', 'completed'))).toBe(true);
    expect(await store.get('a')).toEqual(record('a', 'completed'));
  });

  it('keeps every field of the stored details, also one this release does not know', async () => {
    await store.create(record('a', 'queued'), INPUT, null);
    const details = JSON.parse((await redis.get(`${PREFIX}exec:a`)) ?? '') as object;
    await redis.set(`${PREFIX}exec:a`, JSON.stringify({ ...details, addedLater: { n: 1 } }));
    expect(await store.get('a')).toEqual({ ...record('a', 'queued'), addedLater: { n: 1 } });
  });

  it('refuses a stored value of another shape, naming where it was', async () => {
    await store.create(record('a', 'queued'), INPUT, null);
    await redis.hset(`${PREFIX}exec:a:summary`, 'status', '"lost"');
    await expect(store.get('a')).rejects.toThrow(
      /Unexpected Redis reply from get-execution\.lua for brain-net:exec:a: .*\n.*at status/,
    );
    await expect(store.list(0, 10, null)).rejects.toThrow(/list-executions\.lua .*at status/s);

    await redis.set(`${PREFIX}exec:a`, '[]');
    await redis.hset(`${PREFIX}exec:a:summary`, 'status', '"queued"');
    await expect(store.get('a')).rejects.toThrow(/get-execution\.lua for brain-net:exec:a/);

    await redis.set(`${PREFIX}idem:tenant-a:k`, '{"id":"a"}');
    await expect(store.findByIdempotencyKey('tenant-a', 'k')).rejects.toThrow(
      /from brain-net:idem:tenant-a:k: .*\n.*at fingerprint/,
    );
  });

  it('keeps what it stored through a Redis crash (append-only file, fsync always)', async () => {
    await store.create(record('a', 'queued'), INPUT, { key: 'k', fingerprint: 'f' });
    await store.save(record('a', 'completed'));
    await server.kill();
    await server.restart();
    await pingUntilUp(redis);
    expect(await store.get('a')).toEqual(record('a', 'completed'));
    expect(await store.input('a')).toEqual(INPUT);
    expect(await store.findByIdempotencyKey('tenant-a', 'k')).toEqual({
      id: 'a',
      fingerprint: 'f',
    });
  });

  it('rejects calls while Redis is down, and works again once it is back', async () => {
    const failFast = new Redis(server.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    failFast.on('error', () => undefined);
    try {
      await failFast.connect();
      const downStore = open({}, failFast);
      await downStore.create(record('a', 'queued'), INPUT, null);

      await server.stop();
      await expect(downStore.get('a')).rejects.toThrow();
      await expect(downStore.create(record('b', 'queued'), INPUT, null)).rejects.toThrow();
      await expect(downStore.list(0, 10, null)).rejects.toThrow();

      // Persistence on: the record outlives the restart.
      await server.restart();
      // Both reconnected: a client torn down mid-backoff can hold jest open for a moment.
      await Promise.all([pingUntilUp(failFast), pingUntilUp(redis)]);
      expect(await downStore.get('a')).toEqual(record('a', 'queued'));
    } finally {
      failFast.disconnect();
    }
  });
});

/** Bytes the server has sent to all clients so far. */
async function bytesSent(redis: Redis): Promise<number> {
  const stats = await redis.info('stats');
  const match = /total_net_output_bytes:(\d+)/.exec(stats);
  if (!match) throw new Error('INFO stats has no total_net_output_bytes');
  return Number(match[1]);
}

/** Waits out the client's reconnect backoff. */
async function pingUntilUp(client: Redis): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.ping();
      return;
    } catch (error: unknown) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
