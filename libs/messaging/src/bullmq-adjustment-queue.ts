import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type Job, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AdjustmentPage, AdjustmentRecord, AdjustmentStatus } from '@brain-net/store';

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

/** The adjustment itself; its delivery state is BullMQ's (the job's state, attempts, reason). */
interface AdjustmentJobData {
  readonly tenant: string;
  readonly createdBy: string;
  readonly processorId: string;
  readonly adjustments: Record<string, unknown>;
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
 * The adjustment outbox in cluster mode, on BullMQ: one job per adjustment, its id the
 * adjustment's id, so adding an id twice (from any instance) makes one job and one
 * delivery. BullMQ keeps the delivery state: attempts, backoff between them (the
 * caller's strategy), the final failed state; the job's data is the adjustment.
 */
export class BullmqAdjustmentQueue {
  private readonly queue: Queue<AdjustmentJobData, void, typeof JOB_NAME>;
  private worker: Worker<AdjustmentJobData, void, typeof JOB_NAME> | null = null;
  private workerTemplate: Redis | null = null;
  private readonly keepEnded: number;

  constructor(private readonly options: BullmqAdjustmentQueueOptions) {
    this.keepEnded = options.keepEnded ?? DEFAULT_KEEP_ENDED;
    this.queue = new Queue<AdjustmentJobData, void, typeof JOB_NAME>(options.queueName, {
      connection: options.commands,
      prefix: options.prefix,
    });
    // An 'error' event without a listener would crash the process.
    this.queue.on('error', (error) => options.onError(error));
  }

  /**
   * Adds the adjustment (pending) unless a job with its id exists. `added` false: the
   * record is the one there, as it stands now.
   */
  async add(record: AdjustmentRecord): Promise<{ record: AdjustmentRecord; added: boolean }> {
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
   * Newest first; one tenant's, or every tenant's when `tenant` is null. Reads every job
   * the queue holds (O(kept jobs): at most 2 × keepEnded plus the pending ones), as
   * BullMQ has no index by tenant nor by creation time across states.
   */
  async list(offset: number, limit: number, tenant: string | null): Promise<AdjustmentPage> {
    const byState = await Promise.all(
      JOB_STATES.map(async (state) => ({ state, jobs: await this.queue.getJobs(state, 0, -1) })),
    );
    // A job that ended between two reads can show up twice: ended states come first, and win.
    const records = new Map<string, AdjustmentRecord>();
    for (const { state, jobs } of byState) {
      for (const job of jobs) {
        // getJobs leaves a hole for a job removed while it read.
        if (!job?.id || records.has(job.id)) continue;
        if (tenant !== null && job.data.tenant !== tenant) continue;
        const record = await viewOf(job, state);
        if (record) records.set(job.id, record);
      }
    }
    const items = [...records.values()].sort(
      (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id),
    );
    return { items: items.slice(offset, offset + limit), total: items.length };
  }

  /** Kept adjustments by status (delivered and failed up to the history limit). */
  async countByStatus(): Promise<Record<AdjustmentStatus, number>> {
    const counts = await this.queue.getJobCounts(...JOB_STATES);
    const byStatus: Record<AdjustmentStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const state of JOB_STATES) byStatus[STATUS_OF_STATE[state]] += counts[state] ?? 0;
    return byStatus;
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
 * so, whenever the state is read (the `listed` one, when it is an end, or read now).
 * A state read apart from the hash is not trusted for more: the job may have moved on in
 * between. Undefined when the job is gone.
 */
async function viewOf(
  job: AdjustmentJob,
  listed?: JobState,
): Promise<AdjustmentRecord | undefined> {
  if (!job.finishedOn) return recordOf(job, 'pending');
  const state = listed && STATUS_OF_STATE[listed] !== 'pending' ? listed : await job.getState();
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
    adjustments: job.data.adjustments,
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
