import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { RedisServer, startRedisServer } from '@brain-net/testing';
import { RedisExecutionStore } from '../redis-execution-store';
import { INPUT, queuedRecord } from '../testing/execution-records';
import { EXECUTION_FILE_GRACE_MS, NewFile } from './file-store';
import { RedisFileStore } from './redis-file-store';
import { behavesAsAFileStore } from './testing/file-store-contract';

const PREFIX = 'brain-net:';
const KIB = 1024;

describe('RedisFileStore', () => {
  let server: RedisServer;
  let redis: Redis;
  let store: RedisFileStore;

  const keys = async (pattern: string) => (await redis.keys(`${PREFIX}${pattern}`)).sort();

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });

  beforeEach(async () => {
    await redis.flushall();
    store = new RedisFileStore(redis, { keyPrefix: PREFIX });
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.destroy();
  });

  behavesAsAFileStore(() => ({
    store,
    createExecution: async (id) => {
      const executions = new RedisExecutionStore(redis, {
        keyPrefix: PREFIX,
        executionHistoryLimit: 10,
      });
      await executions.create(queuedRecord({ id }), INPUT);
    },
    storedObjects: async () => (await keys('file:*')).length,
  }));

  const upload = (content: Buffer, file: Partial<NewFile> = {}) =>
    store.save({
      tenant: 'tenant-a',
      name: 'data.bin',
      mediaType: 'application/octet-stream',
      owner: { kind: 'upload' },
      maxBytes: 8 * 1024 * KIB,
      expiresAt: null,
      content: Readable.from([content]),
      ...file,
    });

  it('keeps a file as chunks of 512 KiB under keys of their own', async () => {
    const saved = await upload(Buffer.alloc(1200 * KIB, 7));
    const file = `${PREFIX}file:${saved.id}`;
    expect(await keys('file:*')).toEqual([file, `${file}:0`, `${file}:1`, `${file}:2`]);
    const lengths = await Promise.all([0, 1, 2].map((n) => redis.strlen(`${file}:${n}`)));
    expect(lengths).toEqual([512 * KIB, 512 * KIB, 176 * KIB]);
  });

  it('reads the chunks as the stream is consumed', async () => {
    const saved = await upload(Buffer.alloc(2048 * KIB, 1));
    const getBuffer = jest.spyOn(redis, 'getBuffer');
    const stream = await store.open('tenant-a', saved.id);
    if (stream === null) throw new Error('The file was not saved');
    expect(getBuffer).not.toHaveBeenCalled();
    const chunks = stream[Symbol.asyncIterator]();
    let bytes = ((await chunks.next()).value as Buffer).length;
    // The stream reads one chunk ahead, no more.
    expect(getBuffer.mock.calls.length).toBeLessThanOrEqual(2);
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      bytes += (next.value as Buffer).length;
    }
    expect(bytes).toBe(2048 * KIB);
    expect(getBuffer).toHaveBeenCalledTimes(4);
    getBuffer.mockRestore();
  });

  it('fails the read of a file deleted while it was read', async () => {
    const saved = await upload(Buffer.alloc(2048 * KIB, 1));
    const stream = await store.open('tenant-a', saved.id);
    if (stream === null) throw new Error('The file was not saved');
    const chunks = stream[Symbol.asyncIterator]();
    expect((await chunks.next()).value).toHaveLength(512 * KIB);
    expect(await store.delete('tenant-a', saved.id)).toBe(true);
    const rest = async () => {
      while (!(await chunks.next()).done);
    };
    await expect(rest()).rejects.toThrow(/deleted or expired while read/);
  });

  it('gives every instance what another one saved', async () => {
    const other = new Redis(server.url);
    try {
      const elsewhere = new RedisFileStore(other, { keyPrefix: PREFIX });
      const saved = await upload(Buffer.from('shared'));
      expect(await elsewhere.get('tenant-a', saved.id)).toEqual(saved);
      expect(await elsewhere.listUploads('tenant-a', { limit: 10 })).toEqual([saved]);
      expect(await elsewhere.uploadUsage('tenant-a')).toEqual({ count: 1, bytes: 6 });
      expect(await elsewhere.delete('tenant-a', saved.id)).toBe(true);
      expect(await store.get('tenant-a', saved.id)).toBeNull();
    } finally {
      other.disconnect();
    }
  });

  it('puts the expiry of a file on each of its keys, and none on a file without', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000);
    const expiring = await upload(Buffer.alloc(600 * KIB), { expiresAt });
    const kept = await upload(Buffer.alloc(600 * KIB));
    for (const key of await keys(`file:${expiring.id}*`)) {
      expect(await redis.pexpiretime(key)).toBe(expiresAt.getTime());
    }
    for (const key of await keys(`file:${kept.id}*`)) expect(await redis.pttl(key)).toBe(-1);
  });

  it('leaves no key of files behind once every file is gone', async () => {
    const executions = new RedisExecutionStore(redis, {
      keyPrefix: PREFIX,
      executionHistoryLimit: 10,
    });
    const record = queuedRecord();
    await executions.create(record, INPUT);
    const owner = { kind: 'execution' as const, executionId: record.id };
    const a = await upload(Buffer.alloc(700 * KIB), { expiresAt: new Date(Date.now() + 60_000) });
    const b = await upload(Buffer.from('b'), { tenant: 'tenant-b' });
    await upload(Buffer.from('c'), { owner });
    await upload(Buffer.from('d'), { owner, expiresAt: new Date(Date.now() + 60_000) });

    expect(await store.delete('tenant-a', a.id)).toBe(true);
    expect(await store.delete('tenant-b', b.id)).toBe(true);
    await redis.del(`${PREFIX}exec:${record.id}`);
    expect(await store.sweep(new Date(Date.now() + 2 * EXECUTION_FILE_GRACE_MS))).toBe(2);
    expect(await keys('file*')).toEqual([]);
  });
});
