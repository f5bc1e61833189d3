/*
 * Redis layout of files ({p} is the key prefix RedisExecutionStore uses, e.g. `brain-net:`):
 *
 *   {p}file:{id}                hash    tenant, name, size, sha256, mediaType, createdAt
 *                                       (ms), expiresAt (ms, '' for none), executionId
 *                                       (an execution's files only), chunks (how many),
 *                                       index, usage (names of the keys counting it; usage
 *                                       '' for an execution's file), expiry (its entry in
 *                                       files:expiring, '' for none)
 *   {p}file:{id}:{n}            string  its n-th chunk from 0, CHUNK_BYTES each, the last
 *                                       shorter (none for an empty file)
 *   {p}files:uploads:{tenant}   zset    the tenant's upload ids, all scored 0: by id,
 *                                       which is creation order
 *   {p}files:usage:{tenant}     hash    {count, bytes} of the tenant's uploads
 *   {p}files:execution:{execId} zset    the ids of an execution's files, all scored 0
 *   {p}files:executions         set     the execution ids with files
 *   {p}files:expiring           zset    per expiring file, the JSON of {id, chunks, size,
 *                                       index, usage}, scored by expiresAt (ms)
 *
 * A file with an expiry has a TTL on its hash and chunks: it reads as gone from then on,
 * and Redis frees its bytes without a sweep. Its entry in files:expiring holds what its
 * hash held and the sweep needs: where it is listed, what it counts. Writes that touch
 * several keys are Lua scripts (the .lua files beside this one); they derive key names
 * from the prefix and ids: one Redis server, not Redis Cluster, as RedisExecutionStore.
 */
import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
// A value import: the constructor's metadata names Redis, the class Nest injects by.
import { Redis } from 'ioredis';
import { z } from 'zod';
import { defineLuaCommands, readLua } from '../redis-lua-commands';
import { parseRedisReply } from '../redis-reply';
import { ContentMeter, chunked } from './file-content';
import { fileIdPrefix, isFileId, newFileId } from './file-id';
import {
  EXECUTION_FILE_GRACE_MS,
  FileStore,
  FileUsage,
  NewFile,
  StoredFile,
  UploadPage,
} from './file-store';

/** Where RedisFileStore keeps files. Injection token and shape. */
export class RedisFileStoreOptions {
  /** RedisStoreOptions.keyPrefix: the sweep finds execution records under it. */
  keyPrefix!: string;
}

/** Bounded values: a chunk is one Redis string of at most this. */
const CHUNK_BYTES = 512 * 1024;
/** How long a chunk waits for its save to end; a save that takes longer fails. */
const PENDING_CHUNK_TTL_MS = 60 * 60 * 1000;
/** Expired files, or executions, one sweep script looks at. */
const SWEEP_BATCH = 100;

/** The fields of a file's hash a read decodes, in decodeFile's order. */
const FILE_FIELDS = [
  'tenant',
  'name',
  'size',
  'sha256',
  'mediaType',
  'createdAt',
  'expiresAt',
  'executionId',
  'chunks',
] as const;

/**
 * The scripts, each in the .lua file named after the shared functions. Read when a store
 * is made (at start), not as this module loads: every user of @brain-net/store loads it.
 */
function fileCommands() {
  const lua = (file: string) => readLua(__dirname, 'file-functions.lua', file);
  return {
    brainNetFilesSave: { numberOfKeys: 5, lua: lua('save-file.lua') },
    brainNetFilesDelete: { numberOfKeys: 2, lua: lua('delete-file.lua') },
    brainNetFilesList: { numberOfKeys: 1, lua: lua('list-uploads.lua') },
    brainNetFilesSweepExpired: { numberOfKeys: 1, lua: lua('sweep-expired-files.lua') },
    brainNetFilesSweepExecutions: { numberOfKeys: 2, lua: lua('sweep-execution-files.lua') },
  } as const;
}

/** The methods fileCommands defines; the KEYS and ARGV of each are the .lua file's. */
interface FileCommands {
  brainNetFilesSave(...keysThenArgs: string[]): Promise<unknown>;
  brainNetFilesDelete(...keysThenArgs: string[]): Promise<unknown>;
  brainNetFilesList(...keysThenArgs: string[]): Promise<unknown>;
  brainNetFilesSweepExpired(...keysThenArgs: string[]): Promise<unknown>;
  brainNetFilesSweepExecutions(...keysThenArgs: string[]): Promise<unknown>;
}

/** What sweep-expired-files.lua reads of an expiring file, its hash maybe gone. */
interface ExpiringEntry {
  readonly id: string;
  readonly chunks: number;
  /** Decimal text: the Lua subtracts it as it is. */
  readonly size: string;
  readonly index: string;
  readonly usage: string;
}

const decimal = z
  .string()
  .regex(/^\d+$/)
  .transform((text) => Number(text));

/** FILE_FIELDS' values of an existing file. */
const fileValuesSchema = z.tuple([
  z.string(),
  z.string(),
  decimal,
  z.string(),
  z.string(),
  decimal,
  z.union([z.literal('').transform(() => null), decimal]),
  z.string().nullable(),
  decimal,
]);
const fileValuesReplySchema = z.array(z.string().nullable());
/** list-uploads.lua: {id, FILE_FIELDS' values} of each. */
const listReplySchema = z.array(z.tuple([z.string(), fileValuesReplySchema]));
const usageReplySchema = z.tuple([decimal.nullable(), decimal.nullable()]);
const countReplySchema = z.int().nonnegative();

interface FoundFile {
  readonly file: StoredFile;
  readonly chunks: number;
}

/**
 * Keeps files in Redis (layout above), so that every instance reads what any of them
 * saved. Bytes go in and out a chunk at a time: a save holds at most one chunk, and
 * open's stream reads the next chunk only as it is consumed. Memory is Redis's to bound
 * (maxmemory), and how much a tenant keeps the caller's (uploadUsage). Redis errors
 * reject the call as they are.
 */
@Injectable()
export class RedisFileStore extends FileStore {
  private readonly redis: Redis & FileCommands;
  private readonly prefix: string;

  constructor(redis: Redis, options: RedisFileStoreOptions) {
    super();
    this.redis = defineLuaCommands<FileCommands>(redis, fileCommands());
    this.prefix = options.keyPrefix;
  }

  async save(file: NewFile): Promise<StoredFile> {
    const createdAt = new Date();
    const id = newFileId(createdAt);
    const key = this.fileKey(id);
    const meter = new ContentMeter(file.maxBytes);
    let chunks = 0;
    try {
      for await (const chunk of chunked(meter.measure(file.content), CHUNK_BYTES)) {
        // Counted first: a SET that fails may still have been applied.
        chunks += 1;
        await this.redis.set(`${key}:${chunks - 1}`, chunk, 'PX', PENDING_CHUNK_TTL_MS);
      }
    } catch (error: unknown) {
      // Should this fail too, their TTL removes them; the caller learns the first cause.
      if (chunks > 0) await this.redis.del(...chunkKeys(key, chunks)).catch(() => undefined);
      throw error;
    }

    const stored: StoredFile = {
      id,
      tenant: file.tenant,
      name: file.name,
      size: meter.size,
      sha256: meter.sha256(),
      mediaType: file.mediaType,
      owner: file.owner,
      createdAt,
      expiresAt: file.expiresAt,
    };
    const executionId = file.owner.kind === 'execution' ? file.owner.executionId : null;
    const index =
      executionId === null ? this.uploadsKey(file.tenant) : this.executionFilesKey(executionId);
    const usage = executionId === null ? this.usageKey(file.tenant) : '';
    const size = String(stored.size);
    const entry: ExpiringEntry = { id, chunks, size, index, usage };
    const expiry = file.expiresAt === null ? '' : JSON.stringify(entry);
    // Should this fail, the chunks are left to their TTL: the commit may have been applied.
    const reply = await this.redis.brainNetFilesSave(
      key,
      index,
      this.usageKey(file.tenant),
      this.expiringKey(),
      this.executionsKey(),
      id,
      String(chunks),
      file.expiresAt === null ? '' : String(file.expiresAt.getTime()),
      expiry,
      size,
      executionId ?? '',
      ...['tenant', file.tenant, 'name', file.name, 'size', size, 'sha256', stored.sha256],
      ...['mediaType', file.mediaType, 'createdAt', String(createdAt.getTime())],
      ...['expiresAt', file.expiresAt === null ? '' : String(file.expiresAt.getTime())],
      ...['chunks', String(chunks), 'index', index, 'usage', usage, 'expiry', expiry],
      ...(executionId === null ? [] : ['executionId', executionId]),
    );
    parseRedisReply(z.literal(1), reply, `save-file.lua for ${key}`);
    return stored;
  }

  async get(tenant: string, id: string): Promise<StoredFile | null> {
    return (await this.find(tenant, id))?.file ?? null;
  }

  async open(tenant: string, id: string): Promise<Readable | null> {
    const found = await this.find(tenant, id);
    if (!found) return null;
    const redis = this.redis;
    const key = this.fileKey(id);
    const count = found.chunks;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let n = 0; n < count; n++) {
        const chunk = await redis.getBuffer(`${key}:${n}`);
        if (chunk === null) throw new Error(`File ${id} was deleted or expired while read`);
        yield chunk;
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async listUploads(tenant: string, page: UploadPage): Promise<StoredFile[]> {
    const uploads = this.uploadsKey(tenant);
    const reply = await this.redis.brainNetFilesList(
      uploads,
      this.prefix,
      page.after ?? '',
      String(Math.max(0, page.limit)),
      ...FILE_FIELDS,
    );
    const listed = parseRedisReply(listReplySchema, reply, `list-uploads.lua for ${uploads}`);
    return listed.map(([id, values]) => decodeFile(id, values).file);
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    if (!isFileId(id)) return false;
    const key = this.fileKey(id);
    const reply = await this.redis.brainNetFilesDelete(key, this.expiringKey(), tenant, id);
    const schema = z.union([z.literal(0), z.literal(1)]);
    return parseRedisReply(schema, reply, `delete-file.lua for ${key}`) === 1;
  }

  async uploadUsage(tenant: string): Promise<FileUsage> {
    const key = this.usageKey(tenant);
    const reply = await this.redis.hmget(key, 'count', 'bytes');
    const [count, bytes] = parseRedisReply(usageReplySchema, reply, key);
    return { count: count ?? 0, bytes: bytes ?? 0 };
  }

  async sweep(now: Date): Promise<number> {
    let removed = 0;
    const expiring = this.expiringKey();
    for (;;) {
      const reply = await this.redis.brainNetFilesSweepExpired(
        expiring,
        this.prefix,
        String(now.getTime()),
        String(SWEEP_BATCH),
      );
      const swept = parseRedisReply(countReplySchema, reply, `sweep-expired-files.lua`);
      removed += swept;
      if (swept < SWEEP_BATCH) break;
    }
    // SSCAN returns every execution present from start to end, whatever the script removes.
    const executions = this.executionsKey();
    let cursor = '0';
    do {
      const [next, executionIds] = await this.redis.sscan(executions, cursor, 'COUNT', SWEEP_BATCH);
      cursor = next;
      if (executionIds.length === 0) continue;
      const reply = await this.redis.brainNetFilesSweepExecutions(
        executions,
        expiring,
        this.prefix,
        fileIdPrefix(new Date(now.getTime() - EXECUTION_FILE_GRACE_MS)),
        ...executionIds.flatMap((executionId) => [
          executionId,
          this.executionRecordKey(executionId),
          this.executionFilesKey(executionId),
        ]),
      );
      removed += parseRedisReply(countReplySchema, reply, 'sweep-execution-files.lua');
    } while (cursor !== '0');
    return removed;
  }

  /** The file and its chunk count; null when missing, expired or another tenant's. */
  private async find(tenant: string, id: string): Promise<FoundFile | null> {
    if (!isFileId(id)) return null;
    const key = this.fileKey(id);
    const values = parseRedisReply(
      fileValuesReplySchema,
      await this.redis.hmget(key, ...FILE_FIELDS),
      key,
    );
    // The tenant first: another tenant's file is not decoded, as an unknown one.
    return values[0] === tenant ? decodeFile(id, values, key) : null;
  }

  private fileKey(id: string): string {
    return `${this.prefix}file:${id}`;
  }

  private uploadsKey(tenant: string): string {
    return `${this.prefix}files:uploads:${tenant}`;
  }

  private usageKey(tenant: string): string {
    return `${this.prefix}files:usage:${tenant}`;
  }

  private executionFilesKey(executionId: string): string {
    return `${this.prefix}files:execution:${executionId}`;
  }

  private executionsKey(): string {
    return `${this.prefix}files:executions`;
  }

  private expiringKey(): string {
    return `${this.prefix}files:expiring`;
  }

  /** RedisExecutionStore's key of an execution's record: there while the record is. */
  private executionRecordKey(executionId: string): string {
    return `${this.prefix}exec:${executionId}`;
  }
}

function chunkKeys(key: string, chunks: number): string[] {
  return Array.from({ length: chunks }, (_, n) => `${key}:${n}`);
}

/** A file from FILE_FIELDS' values, as its hash holds them. */
function decodeFile(id: string, values: unknown, source = `file ${id}`): FoundFile {
  const [tenant, name, size, sha256, mediaType, createdAt, expiresAt, executionId, chunks] =
    parseRedisReply(fileValuesSchema, values, source);
  return {
    file: {
      id,
      tenant,
      name,
      size,
      sha256,
      mediaType,
      owner: executionId === null ? { kind: 'upload' } : { kind: 'execution', executionId },
      createdAt: new Date(createdAt),
      expiresAt: expiresAt === null ? null : new Date(expiresAt),
    },
    chunks,
  };
}
