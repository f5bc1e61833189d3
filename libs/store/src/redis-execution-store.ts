/*
 * Redis layout, version 1 ({p} is RedisStoreOptions.keyPrefix, e.g. `brain-net:`):
 *
 *   {p}schema                     string  layout version, `1` (see checkRedisLayout)
 *   {p}exec:{id}                  string  JSON of the record's fields outside its summary
 *                                         (output, results, limits...)
 *   {p}exec:{id}:summary          hash    summary field -> that field's value as JSON
 *                                         (Dates as ISO strings); see redis-record-codec
 *   {p}exec:{id}:input            hash    {code, inputJson}
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
 * or rewrite output. Every write is one Lua script, hence atomic across instances. The
 * scripts derive key names from ids: one Redis server (with replicas, Sentinel), not
 * Redis Cluster. Ids queued in the same millisecond list by id, descending.
 */
import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
// A value import: the constructor's metadata names Redis, the class Nest injects by.
import { Redis } from 'ioredis';
import {
  ExecutionInput,
  ExecutionRecord,
  IdempotentRequest,
  ExecutionSummary,
  isFinished,
} from './execution-record';
import { EarlierSubmit, ExecutionPage, ExecutionStore } from './execution-store';
import {
  SUMMARY_FIELDS,
  decodeRecord,
  decodeSummary,
  encodeDetails,
  encodeSummary,
} from './redis-record-codec';

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

/** A Lua script run by its SHA1, sent in full only when the server does not know it. */
class LuaScript {
  private readonly sha1: string;

  constructor(private readonly source: string) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha1, keys.length, ...keys, ...args);
    } catch (error: unknown) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return await redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * KEYS: record, summary, input, links, execs, tenant execs, unfinished, finished,
 * [idempotency key]. ARGV: prefix, id, details JSON, queuedAt ms, '1' if unfinished,
 * history limit, max drops, code, inputJson, [idempotency value], summary field/value
 * pairs (the rest). Returns the earlier submit's JSON, or nil once stored.
 */
const CREATE = new LuaScript(`
local record, summary, input, links, execs, tenantExecs, unfinished, finished, claim =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local prefix, id, details, score = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local summaryFrom = 10
if claim then
  local earlier = redis.call('GET', claim)
  if earlier then return earlier end
  summaryFrom = 11
end
if redis.call('EXISTS', record) == 1 then
  return redis.error_reply('ERR execution ' .. id .. ' already exists')
end
redis.call('SET', record, details)
redis.call('HSET', summary, unpack(ARGV, summaryFrom))
redis.call('HSET', input, 'code', ARGV[8], 'inputJson', ARGV[9])
redis.call('HSET', links, 'tenantExecs', tenantExecs)
redis.call('ZADD', execs, score, id)
redis.call('ZADD', tenantExecs, score, id)
if ARGV[5] == '1' then
  redis.call('SADD', unfinished, id)
else
  redis.call('ZADD', finished, score, id)
end
if claim then
  redis.call('SET', claim, ARGV[10])
  redis.call('HSET', links, 'idempotencyKey', claim)
end

-- History limit: finished records older than the newest \`limit\` of all go, oldest first.
local limit = tonumber(ARGV[6])
for _, old in ipairs(redis.call('ZRANGE', finished, 0, tonumber(ARGV[7]) - 1)) do
  local rank = redis.call('ZRANK', execs, old)
  if rank and rank >= redis.call('ZCARD', execs) - limit then break end
  local base = prefix .. 'exec:' .. old
  local linked = redis.call('HMGET', base .. ':links', 'tenantExecs', 'idempotencyKey')
  redis.call('DEL', base, base .. ':summary', base .. ':input', base .. ':links')
  redis.call('ZREM', execs, old)
  redis.call('ZREM', finished, old)
  if linked[1] then redis.call('ZREM', linked[1], old) end
  if linked[2] then redis.call('DEL', linked[2]) end
end
return false
`);

/**
 * KEYS: record, summary, execs, unfinished, finished. ARGV: id, details JSON, '1' if
 * unfinished, summary field/value pairs. A record that is gone stays gone, one that
 * finished (in the finished set) stays as it ended: returns 0. Returns 1 once saved.
 */
const SAVE = new LuaScript(`
local record, summary, execs, unfinished, finished = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id = ARGV[1]
if redis.call('EXISTS', record) == 0 then return 0 end
if redis.call('ZSCORE', finished, id) then return 0 end
redis.call('SET', record, ARGV[2])
redis.call('HSET', summary, unpack(ARGV, 4))
if ARGV[3] == '1' then
  redis.call('SADD', unfinished, id)
  redis.call('ZREM', finished, id)
else
  redis.call('SREM', unfinished, id)
  local score = redis.call('ZSCORE', execs, id)
  if score then redis.call('ZADD', finished, score, id) end
end
return 1
`);

/**
 * KEYS: record, summary. ARGV: the tenant as JSON ('' for any), summary fields. Returns
 * {details JSON, summary values}, or nil when missing or another tenant's (read first).
 */
const GET = new LuaScript(`
if ARGV[1] ~= '' and redis.call('HGET', KEYS[2], 'tenant') ~= ARGV[1] then return false end
local details = redis.call('GET', KEYS[1])
if not details then return false end
return { details, redis.call('HMGET', KEYS[2], unpack(ARGV, 2)) }
`);

/**
 * KEYS: an execs zset. ARGV: prefix, start, stop, summary fields. Returns {total,
 * summary values of each id in the range, newest first}: one consistent snapshot.
 */
const LIST = new LuaScript(`
local reply = { redis.call('ZCARD', KEYS[1]) }
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], ARGV[2], ARGV[3])) do
  reply[#reply + 1] = redis.call('HMGET', ARGV[1] .. 'exec:' .. id .. ':summary', unpack(ARGV, 4))
end
return reply
`);

/**
 * KEYS: unfinished, finished, execs. ARGV: prefix, status, endedAt, error (each as JSON).
 * Rewrites three summary fields of every unfinished record; returns how many.
 */
const CLOSE_UNFINISHED = new LuaScript(`
local unfinished, finished, execs = KEYS[1], KEYS[2], KEYS[3]
local closed = 0
for _, id in ipairs(redis.call('SMEMBERS', unfinished)) do
  local summary = ARGV[1] .. 'exec:' .. id .. ':summary'
  if redis.call('EXISTS', summary) == 1 then
    redis.call('HSET', summary, 'status', ARGV[2], 'endedAt', ARGV[3], 'error', ARGV[4])
    local score = redis.call('ZSCORE', execs, id)
    if score then redis.call('ZADD', finished, score, id) end
    closed = closed + 1
  end
end
redis.call('DEL', unfinished)
return closed
`);

/**
 * Keeps executions in Redis (layout above), shared by every instance of the service.
 * Up to `executionHistoryLimit` records are kept as they are; a create drops finished
 * ones older than the newest `executionHistoryLimit` (at most MAX_DROPS_PER_CREATE at a
 * time), never unfinished ones. Memory is Redis's to bound (maxmemory): no budget here.
 * Redis errors reject the call as they are.
 */
@Injectable()
export class RedisExecutionStore extends ExecutionStore {
  private readonly prefix: string;
  private readonly historyLimit: number;

  constructor(
    private readonly redis: Redis,
    options: RedisStoreOptions,
  ) {
    super();
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
    ];
    if (idempotency) {
      keys.push(this.idempotencyKey(record.tenant, idempotency.key));
      const claim: EarlierSubmit = { id: record.id, fingerprint: idempotency.fingerprint };
      args.push(JSON.stringify(claim));
    }
    args.push(...encodeSummary(record));
    const earlier = await CREATE.run(this.redis, keys, args);
    return earlier === null ? null : parseEarlierSubmit(earlier);
  }

  async findByIdempotencyKey(tenant: string, key: string): Promise<EarlierSubmit | undefined> {
    const claim = await this.redis.get(this.idempotencyKey(tenant, key));
    return claim === null ? undefined : parseEarlierSubmit(claim);
  }

  async save(record: ExecutionRecord): Promise<boolean> {
    const saved = await SAVE.run(
      this.redis,
      [
        this.recordKey(record.id),
        this.summaryKey(record.id),
        this.execsKey(null),
        this.unfinishedKey(),
        this.finishedKey(),
      ],
      [
        record.id,
        encodeDetails(record),
        isFinished(record.status) ? '0' : '1',
        ...encodeSummary(record),
      ],
    );
    return saved === 1;
  }

  async get(id: string, tenant: string | null = null): Promise<ExecutionRecord | undefined> {
    // Summary values are JSON: the tenant is compared as its JSON string.
    const reply = await GET.run(
      this.redis,
      [this.recordKey(id), this.summaryKey(id)],
      [tenant === null ? '' : JSON.stringify(tenant), ...SUMMARY_FIELDS],
    );
    if (reply === null) return undefined;
    if (!Array.isArray(reply) || typeof reply[0] !== 'string') {
      throw new Error(`Unexpected Redis reply reading execution ${id}.`);
    }
    return decodeRecord(reply[0], summaryValues(reply[1]));
  }

  async input(id: string): Promise<ExecutionInput | undefined> {
    const [code, inputJson] = await this.redis.hmget(this.inputKey(id), 'code', 'inputJson');
    return code === null || inputJson === null ? undefined : { code, inputJson };
  }

  async list(offset: number, limit: number, tenant: string | null): Promise<ExecutionPage> {
    const execs = this.execsKey(tenant);
    // ZREVRANGE counts from the end for negative bounds: an empty page asks only the total.
    if (limit <= 0) return { items: [], total: await this.redis.zcard(execs) };
    const start = Math.max(0, offset);
    const reply = await LIST.run(
      this.redis,
      [execs],
      [this.prefix, start, start + limit - 1, ...SUMMARY_FIELDS],
    );
    if (!Array.isArray(reply) || typeof reply[0] !== 'number') {
      throw new Error('Unexpected Redis reply listing executions.');
    }
    const items: ExecutionSummary[] = [];
    for (const values of reply.slice(1)) {
      const summary = decodeSummary(summaryValues(values));
      if (summary) items.push(summary);
    }
    return { items, total: reply[0] };
  }

  async closeUnfinished(endedAt: Date, error: string): Promise<number> {
    const closed = await CLOSE_UNFINISHED.run(
      this.redis,
      [this.unfinishedKey(), this.finishedKey(), this.execsKey(null)],
      [this.prefix, JSON.stringify('failed'), JSON.stringify(endedAt), JSON.stringify(error)],
    );
    if (typeof closed !== 'number') {
      throw new Error('Unexpected Redis reply closing unfinished executions.');
    }
    return closed;
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

function parseEarlierSubmit(json: unknown): EarlierSubmit {
  if (typeof json !== 'string') throw new Error('Unexpected Redis reply for an Idempotency-Key.');
  const { id, fingerprint } = JSON.parse(json) as EarlierSubmit;
  return { id, fingerprint };
}

function summaryValues(reply: unknown): (string | null)[] {
  if (!Array.isArray(reply) || !reply.every((v) => v === null || typeof v === 'string')) {
    throw new Error('Unexpected Redis reply reading an execution summary.');
  }
  return reply as (string | null)[];
}
