import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type Job, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  defineLuaCommands,
  parseRedisReply,
  readLua,
  type AdjustmentPage,
  type AdjustmentRecord,
  type AdjustmentStatus,
} from '@brain-net/store';

export interface BullmqAdjustmentQueueOptions {
  /** The BullMQ queue every instance shares, e.g. 'sandbox-adjustments'. */
  readonly queueName: string;
  /** BullMQ's key prefix; 'bull' by default. */
  readonly prefix?: string;
  /** For the Queue: a 'commands' connection, which fails fast while Redis is down. */
  readonly commands: Redis;
  /** Makes the template of the Worker's connections (a 'worker' one); called once per work(). */
  readonly workerConnection: () => Redis;
  /** Attempts of one adjustment, the first included (ADJUSTMENT_MAX_ATTEMPTS). */
  readonly maxAttempts: number;
  /** The wait before the next attempt after `failedAttempts` failed ones. */
  readonly retryDelayMs: (failedAttempts: number) => number;
  /** Deliveries this instance makes at once. */
  readonly concurrency: number;
  /**
   * History limit: delivered and failed adjustments kept, each; older ones are removed
   * (and are then unknown to get and list). 10,000 by default.
   */
  readonly keepEnded?: number;
  /** Hears errors of the queue and the worker (connection trouble mostly). */
  readonly onError: (error: unknown) => void;
}

/** Which attempt the handler makes. */
export interface AdjustmentAttempt {
  /** 1 for the first. */
  readonly number: number;
  /** No attempt follows this one if it fails (the attempts run out). */
  readonly last: boolean;
}

/** What one attempt came to, as the handler tells it. */
export type AdjustmentAttemptOutcome =
  | { readonly kind: 'delivered' }
  /** Failed for good: no further attempt. */
  | { readonly kind: 'rejected'; readonly message: string }
  /** Failed for now: another attempt after the backoff, unless this was the last. */
  | { readonly kind: 'retryable'; readonly message: string };

export type AdjustmentHandler = (
  record: AdjustmentRecord,
  attempt: AdjustmentAttempt,
) => Promise<AdjustmentAttemptOutcome>;

/** What add() came to: the adjustment under its id, or a refusal that stored nothing. */
export type AdjustmentAdd =
  /** `added` false: the record is the one there, as it stands now. */
  | { readonly record: AdjustmentRecord; readonly added: boolean }
  | { readonly refused: 'too-many-pending'; readonly pending: number };

/** The adjustment itself; its delivery state is BullMQ's (the job's state, attempts, reason). */
interface AdjustmentJobData {
  readonly tenant: string;
  readonly createdBy: string;
  readonly processorId: string;
  /** The JSON text as it arrived; an object in jobs of earlier releases. */
  readonly adjustments: string | Record<string, unknown>;
  readonly reason: string;
  readonly executionId: string | null;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Random, per add: tells the add that made the job from one that found it there. */
  readonly acceptance: string;
}

const JOB_NAME = 'adjustment';
type AdjustmentJob = Job<AdjustmentJobData, void, typeof JOB_NAME>;

/** Names the custom strategy: the worker's `settings.backoffStrategy` computes the delay. */
const BACKOFF_TYPE = 'jittered';
const DEFAULT_KEEP_ENDED = 10_000;

/** Every state a job can be in, and what it means for the adjustment; ended ones first. */
const STATUS_OF_STATE: Record<JobState, AdjustmentStatus> = {
  completed: 'delivered',
  failed: 'failed',
  waiting: 'pending',
  prioritized: 'pending',
  delayed: 'pending',
  active: 'pending',
  'waiting-children': 'pending',
};
const JOB_STATES = Object.keys(STATUS_OF_STATE) as JobState[];

/**
 * An index entry without its job is one BullMQ removed (history limit), or an add that
 * reserved its place and failed: once it is this old, it is forgotten.
 */
const RESERVATION_GRACE_MS = 60_000;

/**
 * The index's scripts, each preceded by the functions both use (adjustment-index.lua).
 * KEYS are scriptKeys(); ARGV are scriptArguments(), then the script's own.
 */
const ADJUSTMENT_COMMANDS = {
  brainNetAdjustmentsReserve: {
    numberOfKeys: 3,
    lua: readLua(__dirname, 'adjustment-index.lua', 'reserve-adjustment.lua'),
  },
  brainNetAdjustmentsForget: {
    numberOfKeys: 3,
    lua: readLua(__dirname, 'adjustment-index.lua', 'forget-adjustments.lua'),
  },
} as const;

/** The methods ADJUSTMENT_COMMANDS defines. */
interface AdjustmentCommands {
  brainNetAdjustmentsReserve(...keysThenArgs: (string | number)[]): Promise<unknown>;
  brainNetAdjustmentsForget(...keysThenArgs: (string | number)[]): Promise<unknown>;
}

/** reserve-adjustment.lua: what came of the reservation, and the tenant's pending count. */
const reserveReplySchema = z.tuple([z.enum(['exists', 'full', 'reserved']), z.int().nonnegative()]);
/** forget-adjustments.lua: how many ids it forgot. */
const forgetReplySchema = z.int().nonnegative();
/** A listing's MULTI: the page's ids, and how many the index holds. */
const pageReplySchema = z.tuple([z.array(z.string()), z.int().nonnegative()]);

/**
 * The adjustment outbox in cluster mode, on BullMQ: one job per adjustment, its id the
 * adjustment's id, so adding an id twice (from any instance) makes one job and one
 * delivery. BullMQ keeps the delivery state: attempts, backoff between them (the
 * caller's strategy), the final failed state; the job's data is the adjustment.
 *
 * Next to BullMQ's keys, under `<prefix>:<queue>:adjustment-index:`, sorted sets of ids
 * by creation time (every tenant's, and one per tenant) let a listing read its page's
 * jobs only, and a set per tenant of its pending ids holds MAX_PENDING_ADJUSTMENTS_PER_TENANT.
 */
export class BullmqAdjustmentQueue {
  private readonly queue: Queue<AdjustmentJobData, void, typeof JOB_NAME>;
  private worker: Worker<AdjustmentJobData, void, typeof JOB_NAME> | null = null;
  private workerTemplate: Redis | null = null;
  private readonly commands: Redis & AdjustmentCommands;
  private readonly keepEnded: number;
  private readonly keys: {
    readonly jobs: string;
    readonly byCreation: string;
    readonly byTenant: string;
    readonly pendingOf: string;
    readonly tenantOf: string;
    readonly sweep: string;
  };

  constructor(private readonly options: BullmqAdjustmentQueueOptions) {
    this.commands = defineLuaCommands<AdjustmentCommands>(options.commands, ADJUSTMENT_COMMANDS);
    this.keepEnded = options.keepEnded ?? DEFAULT_KEEP_ENDED;
    const jobs = `${options.prefix ?? 'bull'}:${options.queueName}:`;
    const index = `${jobs}adjustment-index:`;
    this.keys = {
      jobs,
      byCreation: `${index}by-creation`,
      byTenant: `${index}by-tenant:`,
      pendingOf: `${index}pending:`,
      tenantOf: `${index}tenant-of`,
      sweep: `${index}sweep`,
    };
    this.queue = new Queue<AdjustmentJobData, void, typeof JOB_NAME>(options.queueName, {
      connection: options.commands,
      prefix: options.prefix,
    });
    // An 'error' event without a listener would crash the process.
    this.queue.on('error', (error) => options.onError(error));
  }

  /**
   * Adds the adjustment (pending) unless a job with its id exists, or its tenant has
   * `maxPending` pending adjustments already (then nothing is stored).
   */
  async add(record: AdjustmentRecord, maxPending: number): Promise<AdjustmentAdd> {
    const reply = await this.commands.brainNetAdjustmentsReserve(
      ...this.scriptKeys(),
      ...this.scriptArguments(),
      record.id,
      record.tenant,
      record.createdAt.getTime(),
      Date.now(),
      maxPending,
    );
    const source = `reserve-adjustment.lua for ${this.keys.jobs}${record.id}`;
    const [outcome, pending] = parseRedisReply(reserveReplySchema, reply, source);
    if (outcome === 'full') return { refused: 'too-many-pending', pending };
    const acceptance = randomUUID();
    await this.queue.add(JOB_NAME, dataOf(record, acceptance), {
      jobId: record.id,
      timestamp: record.createdAt.getTime(),
      attempts: this.options.maxAttempts,
      backoff: { type: BACKOFF_TYPE },
      removeOnComplete: { count: this.keepEnded },
      removeOnFail: { count: this.keepEnded },
      // lastError comes from failedReason; stacks of our own errors say nothing more.
      stackTraceLimit: 0,
    });
    // BullMQ answers a duplicate id with that id and leaves the job as it was: only the
    // job's data tells whose add made it.
    const job = await this.queue.getJob(record.id);
    if (job?.data.acceptance === acceptance) return { record, added: true };
    const earlier = await this.get(record.id);
    // Gone already: removed past the history limit between the add and the reads.
    if (!earlier) throw new Error(`The job of adjustment ${record.id} vanished as it was added`);
    return { record: earlier, added: false };
  }

  async get(id: string): Promise<AdjustmentRecord | undefined> {
    const job = await this.queue.getJob(id);
    return job && viewOf(job);
  }

  /**
   * Newest first; one tenant's, or every tenant's when `tenant` is null. Reads the page's
   * ids from the index, then those jobs only. An id whose job BullMQ removed (history
   * limit) leaves the index when met, and the page is read again; `total` may count such
   * ids until a sweep or a listing meets them.
   */
  async list(offset: number, limit: number, tenant: string | null): Promise<AdjustmentPage> {
    const index = tenant === null ? this.keys.byCreation : this.keys.byTenant + tenant;
    for (;;) {
      const answers = await this.commands
        .multi()
        .zrevrange(index, offset, offset + limit - 1)
        .zcard(index)
        .exec();
      const values = (answers ?? []).map(([error, value]) => {
        if (error) throw error;
        return value;
      });
      const [ids, total] = parseRedisReply(pageReplySchema, values, `the listing of ${index}`);
      const records = await Promise.all(ids.map((id) => this.get(id)));
      const items = records.filter((record) => record !== undefined);
      const missing = ids.filter((_, i) => records[i] === undefined);
      // Missing but not yet forgotten: an add under way; the page goes without it.
      if (missing.length === 0 || (await this.forget(missing)) === 0) return { items, total };
    }
  }

  /** Kept adjustments by status (delivered and failed up to the history limit). */
  async countByStatus(): Promise<Record<AdjustmentStatus, number>> {
    const counts = await this.queue.getJobCounts(...JOB_STATES);
    const byStatus: Record<AdjustmentStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const state of JOB_STATES) byStatus[STATUS_OF_STATE[state]] += counts[state] ?? 0;
    return byStatus;
  }

  private scriptKeys(): string[] {
    return [this.keys.byCreation, this.keys.tenantOf, this.keys.sweep];
  }

  private scriptArguments(): (string | number)[] {
    const { jobs, byTenant, pendingOf } = this.keys;
    return [jobs, byTenant, pendingOf, Date.now() - RESERVATION_GRACE_MS];
  }

  /** Forgets those of `ids` whose job is gone; answers how many. */
  private async forget(ids: string[]): Promise<number> {
    const reply = await this.commands.brainNetAdjustmentsForget(
      ...this.scriptKeys(),
      ...this.scriptArguments(),
      ...ids,
    );
    return parseRedisReply(
      forgetReplySchema,
      reply,
      `forget-adjustments.lua for ${this.keys.byCreation}`,
    );
  }

  /**
   * Its delivery ended (or ends with this attempt): the adjustment no longer counts as
   * its tenant's pending one. Should this fail, the next add at the cap finds it ended.
   */
  private async ended(job: AdjustmentJob): Promise<void> {
    try {
      await this.commands.zrem(this.keys.pendingOf + job.data.tenant, job.id ?? '');
    } catch (error: unknown) {
      this.options.onError(error);
    }
  }

  /** Starts this instance's worker: it delivers due adjustments through `handler`. */
  work(handler: AdjustmentHandler): void {
    if (this.worker) throw new Error('This queue already works');
    const template = this.options.workerConnection();
    try {
      this.worker = this.createWorker(template, handler);
      this.workerTemplate = template;
    } catch (error) {
      template.disconnect();
      throw error;
    }
  }

  /**
   * Ends the worker once its attempts under way are done; pending adjustments stay in
   * Redis, for the workers of other instances (or this one's after a restart).
   */
  async stopWork(): Promise<void> {
    const worker = this.worker;
    const template = this.workerTemplate;
    this.worker = null;
    this.workerTemplate = null;
    await worker?.close();
    if (template) await quitQuietly(template);
  }

  /** stopWork(), then the queue; the `commands` connection stays open (it is not ours). */
  async close(): Promise<void> {
    await this.stopWork();
    await this.queue.close();
  }

  private createWorker(
    template: Redis,
    handler: AdjustmentHandler,
  ): Worker<AdjustmentJobData, void, typeof JOB_NAME> {
    const { options } = this;
    const worker = new Worker<AdjustmentJobData, void, typeof JOB_NAME>(
      options.queueName,
      async (job) => {
        const number = job.attemptsMade + 1;
        const attempt = { number, last: number >= (job.opts.attempts ?? 1) };
        const outcome = await handler(recordOf(job, 'pending'), attempt);
        if (outcome.kind !== 'retryable' || attempt.last) await this.ended(job);
        switch (outcome.kind) {
          case 'delivered':
            return;
          case 'rejected':
            // Failed at once, whatever attempts are left.
            throw new UnrecoverableError(outcome.message);
          case 'retryable':
            // BullMQ retries after the backoff, or records the job failed after the last.
            throw new Error(outcome.message);
        }
      },
      {
        // BullMQ runs its commands on this client and its blocking fetch on a duplicate;
        // it closes the duplicate only, so stopWork quits this one.
        connection: template,
        prefix: options.prefix,
        concurrency: options.concurrency,
        settings: { backoffStrategy: (attemptsMade: number) => options.retryDelayMs(attemptsMade) },
        autorun: true,
      },
    );
    // A failed attempt is an outcome, told by the handler; only trouble is reported.
    worker.on('error', (error) => options.onError(error));
    return worker;
  }
}

/**
 * The adjustment as its job stands. The job's hash, read at once, says all but how an
 * ended job (one with a finish time) ended: its state says that, and an ended job stays
 * so, whenever the state is read. A state read apart from the hash is not trusted for
 * more: the job may have moved on in between. Undefined when the job is gone.
 */
async function viewOf(job: AdjustmentJob): Promise<AdjustmentRecord | undefined> {
  if (!job.finishedOn) return recordOf(job, 'pending');
  const state = await job.getState();
  if (state === 'unknown') return undefined;
  return recordOf(job, STATUS_OF_STATE[state]);
}

function dataOf(record: AdjustmentRecord, acceptance: string): AdjustmentJobData {
  return {
    tenant: record.tenant,
    createdBy: record.createdBy,
    processorId: record.processorId,
    adjustments: record.adjustments,
    reason: record.reason,
    executionId: record.executionId,
    createdAt: record.createdAt.toISOString(),
    acceptance,
  };
}

/**
 * The adjustment as the job's hash tells it. BullMQ keeps no time of a failed attempt
 * nor of the retry it scheduled, so after a failed attempt nextAttemptAt is its start
 * plus the backoff delay: earlier than the real time by the attempt's length (at most
 * BACKEND_TIMEOUT_MS); updatedAt is that start, too.
 */
function recordOf(job: AdjustmentJob, status: AdjustmentStatus): AdjustmentRecord {
  if (job.id === undefined) throw new Error('A BullMQ job without an id');
  const addedAt = Number(job.timestamp);
  const processedOn = job.processedOn ? Number(job.processedOn) : null;
  const finishedOn = job.finishedOn ? Number(job.finishedOn) : null;
  const attempts = Number(job.attemptsMade);
  let nextAttemptAt: number | null = null;
  if (status === 'pending') {
    // Started more than made: an attempt is under way (or was lost with its worker, and
    // is due again).
    if (Number(job.attemptsStarted) > attempts) nextAttemptAt = processedOn ?? addedAt;
    else if (attempts > 0) nextAttemptAt = (processedOn ?? addedAt) + Number(job.delay || 0);
    else nextAttemptAt = addedAt;
  }
  return {
    id: job.id,
    tenant: job.data.tenant,
    createdBy: job.data.createdBy,
    processorId: job.data.processorId,
    adjustments:
      typeof job.data.adjustments === 'string'
        ? job.data.adjustments
        : JSON.stringify(job.data.adjustments),
    reason: job.data.reason,
    executionId: job.data.executionId,
    status,
    attempts,
    lastError: job.failedReason || null,
    createdAt: new Date(job.data.createdAt),
    updatedAt: new Date(finishedOn ?? processedOn ?? addedAt),
    nextAttemptAt: nextAttemptAt === null ? null : new Date(nextAttemptAt),
    deliveredAt: status === 'delivered' ? new Date(finishedOn ?? addedAt) : null,
  };
}

async function quitQuietly(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    // Already closed, or Redis is gone: either way the connection is done.
    redis.disconnect();
  }
}
