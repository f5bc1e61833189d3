/*
 * Redis layout, version 1 ({p} is RedisStoreOptions.keyPrefix, e.g. `brain-net:`):
 *
 *   {p}schema                     string  layout version, `1` (see checkRedisLayout)
 *   {p}exec:{id}                  string  JSON of the record's fields outside its summary
 *                                         (output, results, limits...)
 *   {p}exec:{id}:summary          hash    summary field -> that field's value as JSON
 *                                         (Dates as ISO strings); see redis-record-codec
 *   {p}exec:{id}:input            hash    {code, inputJson, stdin?}: stdin only when the
 *                                         submit gave one (inputs written before stdin
 *                                         existed have none, and read as none)
 *   {p}exec:{id}:links            hash    {tenantExecs, idempotencyKey?}: names of the
 *                                         keys pointing at it, removed with it
 *   {p}execs                      zset    every id, scored by queuedAt (ms)
 *   {p}execs:tenant:{tenant}      zset    one tenant's ids, scored by queuedAt (ms)
 *   {p}execs:finished             zset    finished ids, scored by queuedAt: trim order
 *   {p}execs:unfinished           set     queued and running ids
 *   {p}idem:{tenant'}:{key}       string  JSON {id, fingerprint} of the submit that claimed
 *                                         the Idempotency-Key; tenant' is the tenant with
 *                                         `%` and `:` escaped (%25, %3A), so no tenant can
 *                                         reach another's keys
 *
 * The summary lives apart from the record so a listing, and closeUnfinished, never read
 * or rewrite output. Every write is one Lua script (the .lua files beside this one), hence
 * atomic across instances. The scripts derive key names from ids: one Redis server (with
 * replicas, Sentinel), not Redis Cluster. Ids queued in the same millisecond list by id,
 * descending.
 */
import { Injectable } from '@nestjs/common';
// A value import: the constructor's metadata names Redis, the class Nest injects by.
import { Redis } from 'ioredis';
import { z } from 'zod';
import {
  ExecutionInput,
  ExecutionRecord,
  IdempotentRequest,
  ExecutionSummary,
  isFinished,
} from './execution-record';
import { EarlierSubmit, ExecutionFilter, ExecutionPage, ExecutionStore } from './execution-store';
import {
  SUMMARY_FIELDS,
  decodeRecord,
  decodeSummary,
  encodeDetails,
  encodeSummary,
} from './redis-record-codec';
import { defineLuaCommands, readLua } from './redis-lua-commands';
import { jsonText, parseRedisReply } from './redis-reply';

/** The layout this release reads and writes; a change to the keys above bumps it. */
export const REDIS_LAYOUT_VERSION = 1;

/** Where records live in Redis. Injection token and shape. */
export class RedisStoreOptions {
  /** Prepended to every key, e.g. `brain-net:`; several deployments can share a server. */
  keyPrefix!: string;
  /** How many of the newest executions are kept; finished ones older than those go. */
  executionHistoryLimit!: number;
}

/**
 * Records the layout version in a new Redis, and refuses one written by another layout:
 * the point where a future layout change migrates. Call once before using the store.
 */
export async function checkRedisLayout(redis: Redis, prefix: string): Promise<void> {
  const key = `${prefix}schema`;
  await redis.set(key, String(REDIS_LAYOUT_VERSION), 'NX');
  const version = await redis.get(key);
  if (version !== String(REDIS_LAYOUT_VERSION)) {
    throw new Error(
      `Redis key ${key} holds execution store layout version ${version ?? '(none)'}; ` +
        `this release reads version ${REDIS_LAYOUT_VERSION} only. Migrate the data or use ` +
        `another key prefix.`,
    );
  }
}

/** Finished records one create may drop: bounded work, and still catches up on a backlog. */
const MAX_DROPS_PER_CREATE = 4;

/** The store's scripts, each in the .lua file named, as methods of its client. */
const STORE_COMMANDS = {
  brainNetStoreCreate: { lua: readLua(__dirname, 'create-execution.lua') },
  brainNetStoreSave: { numberOfKeys: 5, lua: readLua(__dirname, 'save-execution.lua') },
  brainNetStoreGet: { numberOfKeys: 2, lua: readLua(__dirname, 'get-execution.lua') },
  brainNetStoreList: { numberOfKeys: 1, lua: readLua(__dirname, 'list-executions.lua') },
  brainNetStoreCloseUnfinished: {
    numberOfKeys: 3,
    lua: readLua(__dirname, 'close-unfinished-executions.lua'),
  },
} as const;

/** The methods STORE_COMMANDS defines; the KEYS and ARGV of each are the .lua file's. */
interface StoreCommands {
  /** Its KEYS count first: the idempotency key is there or not. */
  brainNetStoreCreate(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<unknown>;
  brainNetStoreSave(...keysThenArgs: string[]): Promise<unknown>;
  brainNetStoreGet(...keysThenArgs: string[]): Promise<unknown>;
  brainNetStoreList(...keysThenArgs: (string | number)[]): Promise<unknown>;
  brainNetStoreCloseUnfinished(...keysThenArgs: string[]): Promise<unknown>;
}

const earlierSubmitSchema = z.object({
  id: z.string(),
  fingerprint: z.string(),
}) satisfies z.ZodType<EarlierSubmit>;

/**
 * An Idempotency-Key's claim, or nil: what its key holds, and what create-execution.lua
 * answers (the earlier submit's claim, or nil once stored).
 */
const claimSchema = jsonText(earlierSubmitSchema).nullable();
/** save-execution.lua: 1 once saved, 0 when finished already or gone. */
const saveReplySchema = z.union([z.literal(0), z.literal(1)]);
/** get-execution.lua: {details JSON, summary values}, or nil. */
const getReplySchema = z.tuple([z.string(), z.array(z.string().nullable())]).nullable();
/** list-executions.lua: {total, summary values of each listed id}. */
const listReplySchema = z.tuple([z.int().nonnegative()], z.array(z.string().nullable()));
/** close-unfinished-executions.lua: how many it closed. */
const closeUnfinishedReplySchema = z.int().nonnegative();

/**
 * Keeps executions in Redis (layout above), shared by every instance of the service.
 * Up to `executionHistoryLimit` records are kept as they are; a create drops finished
 * ones older than the newest `executionHistoryLimit` (at most MAX_DROPS_PER_CREATE at a
 * time), never unfinished ones. Memory is Redis's to bound (maxmemory): no budget here.
 * Redis errors reject the call as they are.
 */
@Injectable()
export class RedisExecutionStore extends ExecutionStore {
  private readonly redis: Redis & StoreCommands;
  private readonly prefix: string;
  private readonly historyLimit: number;

  constructor(redis: Redis, options: RedisStoreOptions) {
    super();
    this.redis = defineLuaCommands<StoreCommands>(redis, STORE_COMMANDS);
    this.prefix = options.keyPrefix;
    this.historyLimit = options.executionHistoryLimit;
  }

  async create(
    record: ExecutionRecord,
    input: ExecutionInput,
    idempotency?: IdempotentRequest | null,
  ): Promise<EarlierSubmit | null> {
    const keys = [
      this.recordKey(record.id),
      this.summaryKey(record.id),
      this.inputKey(record.id),
      `${this.recordKey(record.id)}:links`,
      this.execsKey(null),
      this.execsKey(record.tenant),
      this.unfinishedKey(),
      this.finishedKey(),
    ];
    const args = [
      this.prefix,
      record.id,
      encodeDetails(record),
      record.queuedAt.getTime(),
      isFinished(record.status) ? '0' : '1',
      this.historyLimit,
      MAX_DROPS_PER_CREATE,
      input.code,
      input.inputJson,
      input.stdin === undefined ? '0' : '1',
      input.stdin ?? '',
    ];
    if (idempotency) {
      keys.push(this.idempotencyKey(record.tenant, idempotency.key));
      const claim: EarlierSubmit = { id: record.id, fingerprint: idempotency.fingerprint };
      args.push(JSON.stringify(claim));
    }
    args.push(...encodeSummary(record));
    const reply = await this.redis.brainNetStoreCreate(keys.length, ...keys, ...args);
    return parseRedisReply(claimSchema, reply, `create-execution.lua for ${keys[0]}`);
  }

  async findByIdempotencyKey(tenant: string, key: string): Promise<EarlierSubmit | undefined> {
    const claimKey = this.idempotencyKey(tenant, key);
    const claim = await this.redis.get(claimKey);
    return parseRedisReply(claimSchema, claim, claimKey) ?? undefined;
  }

  async save(record: ExecutionRecord): Promise<boolean> {
    const recordKey = this.recordKey(record.id);
    const reply = await this.redis.brainNetStoreSave(
      recordKey,
      this.summaryKey(record.id),
      this.execsKey(null),
      this.unfinishedKey(),
      this.finishedKey(),
      record.id,
      encodeDetails(record),
      isFinished(record.status) ? '0' : '1',
      ...encodeSummary(record),
    );
    return parseRedisReply(saveReplySchema, reply, `save-execution.lua for ${recordKey}`) === 1;
  }

  async get(id: string, tenant: string | null = null): Promise<ExecutionRecord | undefined> {
    const recordKey = this.recordKey(id);
    // Summary values are JSON: the tenant is compared as its JSON string.
    const reply = await this.redis.brainNetStoreGet(
      recordKey,
      this.summaryKey(id),
      tenant === null ? '' : JSON.stringify(tenant),
      ...SUMMARY_FIELDS,
    );
    const source = `get-execution.lua for ${recordKey}`;
    const found = parseRedisReply(getReplySchema, reply, source);
    return found === null ? undefined : decodeRecord(found[0], found[1], source);
  }

  async input(id: string): Promise<ExecutionInput | undefined> {
    const [code, inputJson, stdin] = await this.redis.hmget(
      this.inputKey(id),
      'code',
      'inputJson',
      'stdin',
    );
    if (code === null || inputJson === null) return undefined;
    return stdin === null ? { code, inputJson } : { code, inputJson, stdin };
  }

  /**
   * One script call, one snapshot. `since` is a range of the zset's scores: the page and
   * the total cost O(log n + page) with it alone. A status or processor is not indexed:
   * the script then looks at every id of the zset (one tenant's, or all) queued since
   * `since`, reading two small summary fields of each and whole summaries for the page
   * only; those ids are the records kept, so the scan is bounded by
   * EXECUTION_HISTORY_LIMIT plus the unfinished executions, whatever the page asked.
   */
  async list(
    offset: number,
    limit: number,
    tenant: string | null,
    filter: ExecutionFilter = {},
  ): Promise<ExecutionPage> {
    const execs = this.execsKey(tenant);
    const { statuses, processorId, since, batchId } = filter;
    if (statuses?.length === 0) return { items: [], total: 0 };
    const start = Math.max(0, offset);
    // Summary values are JSON: statuses and the processor are compared as JSON strings.
    const reply = await this.redis.brainNetStoreList(
      execs,
      this.prefix,
      start,
      start + Math.max(0, limit) - 1,
      since === undefined ? '-inf' : since.getTime(),
      statuses === undefined ? '' : statuses.map((status) => JSON.stringify(status)).join(','),
      processorId === undefined ? '' : JSON.stringify(processorId),
      batchId === undefined ? '' : JSON.stringify(batchId),
      ...SUMMARY_FIELDS,
    );
    const source = `list-executions.lua for ${execs}`;
    const [total, ...listed] = parseRedisReply(listReplySchema, reply, source);
    const items: ExecutionSummary[] = [];
    for (const [i, values] of listed.entries()) {
      const summary = decodeSummary(values, `${source}, item ${start + i}`);
      if (summary) items.push(summary);
    }
    return { items, total };
  }

  async closeUnfinished(endedAt: Date, error: string): Promise<number> {
    const unfinishedKey = this.unfinishedKey();
    const reply = await this.redis.brainNetStoreCloseUnfinished(
      unfinishedKey,
      this.finishedKey(),
      this.execsKey(null),
      this.prefix,
      JSON.stringify('failed'),
      JSON.stringify(endedAt),
      JSON.stringify(error),
    );
    return parseRedisReply(
      closeUnfinishedReplySchema,
      reply,
      `close-unfinished-executions.lua for ${unfinishedKey}`,
    );
  }

  private recordKey(id: string): string {
    return `${this.prefix}exec:${id}`;
  }

  private summaryKey(id: string): string {
    return `${this.prefix}exec:${id}:summary`;
  }

  private inputKey(id: string): string {
    return `${this.prefix}exec:${id}:input`;
  }

  /** Every execution's ids, or one tenant's. */
  private execsKey(tenant: string | null): string {
    return tenant === null ? `${this.prefix}execs` : `${this.prefix}execs:tenant:${tenant}`;
  }

  private unfinishedKey(): string {
    return `${this.prefix}execs:unfinished`;
  }

  private finishedKey(): string {
    return `${this.prefix}execs:finished`;
  }

  /** The tenant escaped: `a:b` + `c` and `a` + `b:c` must not meet. */
  private idempotencyKey(tenant: string, key: string): string {
    const escapedTenant = tenant.replaceAll('%', '%25').replaceAll(':', '%3A');
    return `${this.prefix}idem:${escapedTenant}:${key}`;
  }
}
