import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { isFileId } from '../file-id';
import {
  EXECUTION_FILE_GRACE_MS,
  FileStore,
  FileTooLargeError,
  NewFile,
  StoredFile,
} from '../file-store';

const KIB = 1024;
const MIB = 1024 * KIB;

/** What the contract needs of the adapter under test, made afresh for each test. */
export interface FileStoreFixture {
  /** Empty. */
  readonly store: FileStore;
  /** Makes an execution of this id exist, as the ExecutionStore beside the store records it. */
  createExecution(id: string): Promise<void>;
  /** How many blobs, keys or files the adapter holds for files: 0 when it holds none. */
  storedObjects(): Promise<number>;
}

/** `content` as a stream of pieces of `pieceBytes`, as a request body comes. */
function inPieces(content: Buffer, pieceBytes = 64 * KIB): Readable {
  function* pieces() {
    for (let at = 0; at < content.length; at += pieceBytes) {
      yield content.subarray(at, at + pieceBytes);
    }
  }
  return Readable.from(pieces());
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(Buffer.from(piece));
  return Buffer.concat(pieces);
}

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What every FileStore does alike, run by the spec of each adapter. `fixture` gives the
 * running test's.
 */
export function behavesAsAFileStore(fixture: () => FileStoreFixture): void {
  describe('as a FileStore', () => {
    const store = () => fixture().store;

    const save = (content: Buffer | NewFile['content'], file: Partial<NewFile> = {}) =>
      store().save({
        tenant: 'tenant-a',
        name: 'data.bin',
        mediaType: 'application/octet-stream',
        owner: { kind: 'upload' },
        maxBytes: 8 * MIB,
        expiresAt: null,
        ...file,
        content: Buffer.isBuffer(content) ? inPieces(content) : content,
      });

    const bytesOf = async (tenant: string, id: string) => {
      const stream = await store().open(tenant, id);
      return stream && readAll(stream);
    };

    const listedIds = async (tenant: string, limit = 100, after?: string) =>
      (await store().listUploads(tenant, { limit, ...(after !== undefined && { after }) })).map(
        (file) => file.id,
      );

    it.each([
      ['every byte value', Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256))],
      ['nothing', Buffer.alloc(0)],
      ['3 MiB and a bit, in uneven pieces', randomBytes(3 * MIB + 12_345)],
    ])('gives back %s as saved, with its size and sha256', async (_, content) => {
      const saved = await save(content);
      expect(saved).toMatchObject({ size: content.length, sha256: sha256(content) });
      expect(await store().get('tenant-a', saved.id)).toEqual(saved);
      const read = await bytesOf('tenant-a', saved.id);
      expect(read?.equals(content)).toBe(true);
    });

    it('reads content from a stream, as buffers or strings', async () => {
      const saved = await save(Readable.from([Buffer.from('héllo'), ' wörld']));
      expect((await bytesOf('tenant-a', saved.id))?.toString('utf8')).toBe('héllo wörld');
      expect(saved.size).toBe(Buffer.byteLength('héllo wörld'));
    });

    it('keeps what it was told of a file, and gives it an id of its own', async () => {
      const executionId = randomUUID();
      await fixture().createExecution(executionId);
      const expiresAt = new Date(Date.now() + 3_600_000);
      const before = Date.now();
      const saved = await save(Buffer.from('a,b\n1,2\n'), {
        name: 'out/table ü.csv',
        mediaType: 'text/csv',
        owner: { kind: 'execution', executionId },
        expiresAt,
      });
      expect(saved).toEqual({
        id: expect.any(String) as string,
        tenant: 'tenant-a',
        name: 'out/table ü.csv',
        size: 8,
        sha256: sha256(Buffer.from('a,b\n1,2\n')),
        mediaType: 'text/csv',
        owner: { kind: 'execution', executionId },
        createdAt: expect.any(Date) as Date,
        expiresAt,
      });
      expect(isFileId(saved.id)).toBe(true);
      expect(saved.createdAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(saved.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect(await store().get('tenant-a', saved.id)).toEqual(saved);
      const other = await save(Buffer.from('x'));
      expect(other.id).not.toBe(saved.id);
    });

    it('rejects content past maxBytes with FileTooLargeError, and keeps nothing of it', async () => {
      const exact = await save(Buffer.alloc(10, 1), { maxBytes: 10 });
      const objects = await fixture().storedObjects();

      await expect(save(Buffer.alloc(11, 1), { maxBytes: 10 })).rejects.toThrow(FileTooLargeError);
      // Past several chunks first.
      await expect(save(randomBytes(MIB + 1), { maxBytes: MIB })).rejects.toMatchObject({
        name: 'FileTooLargeError',
        maxBytes: MIB,
      });

      expect(await fixture().storedObjects()).toBe(objects);
      expect(await store().uploadUsage('tenant-a')).toEqual({ count: 1, bytes: 10 });
      expect(await listedIds('tenant-a')).toEqual([exact.id]);
    });

    it('keeps nothing of a save whose content fails', async () => {
      async function* failing(): AsyncGenerator<Buffer> {
        yield randomBytes(700 * KIB);
        await sleep(10);
        throw new Error('the client went away');
      }
      await expect(save(failing())).rejects.toThrow('the client went away');
      expect(await fixture().storedObjects()).toBe(0);
      expect(await store().uploadUsage('tenant-a')).toEqual({ count: 0, bytes: 0 });
      expect(await listedIds('tenant-a')).toEqual([]);
    });

    it('answers another tenant’s file as an unknown one', async () => {
      const saved = await save(Buffer.from('secret'));
      expect(await store().get('tenant-b', saved.id)).toBeNull();
      expect(await store().open('tenant-b', saved.id)).toBeNull();
      expect(await store().delete('tenant-b', saved.id)).toBe(false);
      expect(await listedIds('tenant-b')).toEqual([]);
      expect(await store().uploadUsage('tenant-b')).toEqual({ count: 0, bytes: 0 });

      expect((await bytesOf('tenant-a', saved.id))?.toString()).toBe('secret');
    });

    it('answers unknown and malformed ids as unknown', async () => {
      const saved = await save(Buffer.from('x'));
      const unknown = `${saved.id.slice(0, -1)}${saved.id.endsWith('0') ? '1' : '0'}`;
      for (const id of [unknown, `${saved.id}:0`, `../${saved.id}`, saved.id.toUpperCase(), '']) {
        expect(await store().get('tenant-a', id)).toBeNull();
        expect(await store().open('tenant-a', id)).toBeNull();
        expect(await store().delete('tenant-a', id)).toBe(false);
      }
      expect(await store().get('tenant-a', saved.id)).toEqual(saved);
    });

    it('lists a tenant’s uploads newest first, by id, a page after another', async () => {
      const executionId = randomUUID();
      await fixture().createExecution(executionId);
      const uploads: StoredFile[] = [];
      for (let i = 0; i < 5; i++) {
        uploads.push(await save(Buffer.from(`upload ${i}`), { name: `u${i}` }));
        if (i === 2) await sleep(5);
      }
      await save(Buffer.from('of the execution'), { owner: { kind: 'execution', executionId } });
      await save(Buffer.from('another tenant’s'), { tenant: 'tenant-b' });

      const ids = uploads.map((file) => file.id).sort((a, b) => (a < b ? 1 : -1));
      // By id is by creation, to the millisecond: the last two come first.
      expect(ids.slice(0, 2).sort()).toEqual([uploads[3].id, uploads[4].id].sort());
      const listed = await store().listUploads('tenant-a', { limit: 10 });
      expect(listed).toEqual(ids.map((id) => uploads.find((file) => file.id === id)));

      expect(await listedIds('tenant-a', 2)).toEqual(ids.slice(0, 2));
      expect(await listedIds('tenant-a', 2, ids[1])).toEqual(ids.slice(2, 4));
      expect(await listedIds('tenant-a', 2, ids[3])).toEqual(ids.slice(4));
      expect(await listedIds('tenant-a', 2, ids[4])).toEqual([]);
      expect(await listedIds('tenant-a', 0)).toEqual([]);
      // A cursor outlives its file.
      expect(await store().delete('tenant-a', ids[1])).toBe(true);
      expect(await listedIds('tenant-a', 2, ids[1])).toEqual(ids.slice(2, 4));
      expect(await listedIds('tenant-b')).toHaveLength(1);
    });

    it('counts a tenant’s uploads in its usage, not its executions’ files', async () => {
      const executionId = randomUUID();
      await fixture().createExecution(executionId);
      const first = await save(Buffer.alloc(3));
      const second = await save(Buffer.alloc(5));
      await save(Buffer.alloc(7), { owner: { kind: 'execution', executionId } });
      await save(Buffer.alloc(0));
      await save(Buffer.alloc(11), { tenant: 'tenant-b' });
      expect(await store().uploadUsage('tenant-a')).toEqual({ count: 3, bytes: 8 });

      expect(await store().delete('tenant-a', second.id)).toBe(true);
      expect(await store().delete('tenant-a', second.id)).toBe(false);
      expect(await store().get('tenant-a', second.id)).toBeNull();
      expect(await store().open('tenant-a', second.id)).toBeNull();
      expect(await store().uploadUsage('tenant-a')).toEqual({ count: 2, bytes: 3 });
      expect(await store().uploadUsage('tenant-b')).toEqual({ count: 1, bytes: 11 });
      expect((await bytesOf('tenant-a', first.id))?.length).toBe(3);
    });

    it('answers an expired file as gone at once; it counts until swept', async () => {
      const kept = await save(Buffer.from('kept'));
      const expiring = await save(Buffer.from('expiring'), {
        expiresAt: new Date(Date.now() + 300),
      });
      expect(await store().get('tenant-a', expiring.id)).toEqual(expiring);
      await sleep(400);

      expect(await store().get('tenant-a', expiring.id)).toBeNull();
      expect(await store().open('tenant-a', expiring.id)).toBeNull();
      expect(await store().delete('tenant-a', expiring.id)).toBe(false);
      expect(await listedIds('tenant-a')).toEqual([kept.id]);
      expect(await store().uploadUsage('tenant-a')).toEqual({ count: 2, bytes: 12 });

      expect(await store().sweep(new Date())).toBe(1);
      expect(await store().uploadUsage('tenant-a')).toEqual({ count: 1, bytes: 4 });
      expect(await store().sweep(new Date())).toBe(0);
    });

    it('sweeps the files expired at the time given, and keeps the others', async () => {
      const now = Date.now();
      const soon = await save(Buffer.from('soon'), { expiresAt: new Date(now + 60_000) });
      const later = await save(Buffer.from('later'), { expiresAt: new Date(now + 3_600_000) });
      const never = await save(Buffer.from('never'));
      const objects = await fixture().storedObjects();

      expect(await store().sweep(new Date(now + 120_000))).toBe(1);
      expect(await store().get('tenant-a', soon.id)).toBeNull();
      expect(await store().get('tenant-a', later.id)).toEqual(later);
      expect(await store().get('tenant-a', never.id)).toEqual(never);
      // Saved within the same millisecond, maybe: their order is then any.
      expect((await listedIds('tenant-a')).sort()).toEqual([never.id, later.id].sort());
      expect(await store().uploadUsage('tenant-a')).toEqual({ count: 2, bytes: 10 });
      expect(await fixture().storedObjects()).toBeLessThan(objects);
      expect(await store().sweep(new Date(now + 120_000))).toBe(0);
    });

    it('keeps the files of an execution without a record for a grace time: its admission may be under way', async () => {
      const owned = { kind: 'execution' as const, executionId: randomUUID() };
      const early = await save(Buffer.from('early'), { owner: owned });

      expect(await store().sweep(new Date(Date.now() + EXECUTION_FILE_GRACE_MS - 60_000))).toBe(0);
      await fixture().createExecution(owned.executionId);
      expect(await store().sweep(new Date(Date.now() + 2 * EXECUTION_FILE_GRACE_MS))).toBe(0);
      expect((await bytesOf('tenant-a', early.id))?.toString()).toBe('early');
    });

    it('sweeps the files of an execution whose record is gone, and keeps the others', async () => {
      const existing = randomUUID();
      const gone = randomUUID();
      await fixture().createExecution(existing);
      const owned = (executionId: string) => ({ kind: 'execution' as const, executionId });
      const kept = await save(Buffer.from('kept'), { owner: owned(existing) });
      const upload = await save(Buffer.from('upload'));
      const objects = await fixture().storedObjects();
      const orphan = await save(Buffer.from('orphan'), { owner: owned(gone) });
      const expiringOrphan = await save(randomBytes(MIB), {
        owner: owned(gone),
        expiresAt: new Date(Date.now() + 3_600_000),
      });

      const afterGrace = new Date(Date.now() + EXECUTION_FILE_GRACE_MS + 60_000);
      // The expiring orphan expired by then too: each file is counted once.
      expect(await store().sweep(afterGrace)).toBe(2);
      expect(await store().get('tenant-a', orphan.id)).toBeNull();
      expect(await store().get('tenant-a', expiringOrphan.id)).toBeNull();
      expect(await fixture().storedObjects()).toBe(objects);
      expect((await bytesOf('tenant-a', kept.id))?.toString()).toBe('kept');
      expect(await store().get('tenant-a', upload.id)).toEqual(upload);
      expect(await store().sweep(new Date(Date.now() + 7_200_000))).toBe(0);
    });
  });
}
