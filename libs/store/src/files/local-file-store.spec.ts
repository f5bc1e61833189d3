import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SqliteDatabase } from '../sqlite-database';
import { SqliteExecutionStore } from '../sqlite-execution-store';
import { INPUT, queuedRecord, record } from '../testing/execution-records';
import { openSqliteStore } from '../testing/sqlite-store-fixtures';
import { newFileId } from './file-id';
import { NewFile } from './file-store';
import { LocalFileStore } from './local-file-store';
import { behavesAsAFileStore } from './testing/file-store-contract';

describe('LocalFileStore', () => {
  let directory: string;
  let database: SqliteDatabase;
  let executions: SqliteExecutionStore;
  let store: LocalFileStore;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'local-file-store-'));
    ({ database, store: executions } = openSqliteStore());
    store = new LocalFileStore(database, { directory: join(directory, 'files') });
  });

  afterEach(() => {
    database.close();
    rmSync(directory, { recursive: true, force: true });
  });

  const blobs = () => readdirSync(join(directory, 'files')).sort();

  behavesAsAFileStore(() => ({
    store,
    createExecution: async (id) => {
      await executions.create(queuedRecord({ id }), INPUT);
    },
    storedObjects: async () => Promise.resolve(blobs().length),
  }));

  const upload = (content: NewFile['content'], file: Partial<NewFile> = {}) =>
    store.save({
      tenant: 'tenant-a',
      name: 'data.bin',
      mediaType: 'application/octet-stream',
      owner: { kind: 'upload' },
      maxBytes: 1024,
      expiresAt: null,
      content,
      ...file,
    });

  it('sweeps the files of an execution whose bulky fields were pruned', async () => {
    const pruned = randomUUID();
    const running = randomUUID();
    await executions.create(record(pruned, 'completed'), INPUT);
    await executions.create(record(running, 'running', 1), INPUT);
    const gone = await upload(Readable.from([Buffer.from('gone')]), {
      owner: { kind: 'execution', executionId: pruned },
    });
    const kept = await upload(Readable.from([Buffer.from('kept')]), {
      owner: { kind: 'execution', executionId: running },
    });
    // A budget of one byte prunes every finished execution as the store opens.
    const budget = { databasePath: ':memory:', executionHistoryLimit: 10, maxStoreBytes: 1 };
    expect(await new SqliteExecutionStore(database, budget).get(pruned)).toMatchObject({
      pruned: true,
    });

    expect(await store.sweep(new Date())).toBe(1);
    expect(await store.get('tenant-a', gone.id)).toBeNull();
    expect(await store.get('tenant-a', kept.id)).toEqual(kept);
    expect(blobs()).toEqual([kept.id]);
  });

  it('sweeps what a crash left: bytes without a row, rows without bytes', async () => {
    const whole = await upload(Readable.from([Buffer.from('whole')]));
    const lost = await upload(Readable.from([Buffer.from('lost')]));
    rmSync(join(directory, 'files', lost.id));
    const leftOver = newFileId(new Date());
    const partial = `${newFileId(new Date())}.partial`;
    writeFileSync(join(directory, 'files', leftOver), 'no row');
    writeFileSync(join(directory, 'files', partial), 'half');
    writeFileSync(join(directory, 'files', 'README'), 'not the store’s');

    expect(await store.sweep(new Date())).toBe(1);
    expect(await store.get('tenant-a', lost.id)).toBeNull();
    expect(await store.uploadUsage('tenant-a')).toEqual({ count: 1, bytes: 5 });
    expect(blobs()).toEqual(['README', whole.id].sort());
  });

  it('writes a file under its id only once whole; a sweep meanwhile leaves it be', async () => {
    let resume = () => {};
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.from('first ');
      await resumed;
      yield Buffer.from('second');
    }
    const saving = upload(slow());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(blobs()).toEqual([expect.stringMatching(/^file_\w+\.partial$/)]);
    expect(await store.sweep(new Date())).toBe(0);
    expect(blobs()).toHaveLength(1);

    resume();
    const saved = await saving;
    expect(blobs()).toEqual([saved.id]);
    const stream = await store.open('tenant-a', saved.id);
    const pieces: Buffer[] = [];
    for await (const piece of stream ?? []) pieces.push(piece as Buffer);
    expect(Buffer.concat(pieces).toString()).toBe('first second');
  });
});
