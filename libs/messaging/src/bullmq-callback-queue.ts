import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CallbackHandler, CallbackState, ExpectedCallback } from '@brain-net/store';

export interface BullmqCallbackQueueOptions {
  /** The BullMQ queue every instance shares, e.g. 'sandbox-callbacks'. */
  readonly queueName: string;
  /** BullMQ's key prefix; 'bull' by default. */
  readonly prefix?: string;
  /** For the Queue: a 'commands' connection, which fails fast while Redis is down. */
  readonly commands: Redis;
  /** Makes the template of the Worker's connections (a 'worker' one); called once per work(). */
  readonly workerConnection: () => Redis;
  /** Attempts of one callback, the first included (CALLBACK_MAX_ATTEMPTS). */
  readonly maxAttempts: number;
  /** The wait before the next attempt after `failedAttempts` failed ones. */
  readonly retryDelayMs: (failedAttempts: number) => number;
  /** Deliveries this instance makes at once. */
  readonly concurrency: number;
  /** Delivered and failed callbacks kept, each; older ones are removed (status unknown). */
  readonly keepEnded: number;
  /** Hears errors of the queue and the worker (connection trouble mostly). */
  readonly onError: (error: unknown) => void;
}

/** The callback itself; its delivery state is BullMQ's (the job's state, attempts, reason). */
interface CallbackJobData {
  readonly tenant: string;
  readonly url: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

const JOB_NAME = 'callback';
type CallbackJob = Job<CallbackJobData, void, typeof JOB_NAME>;

/** Names the custom strategy: the worker's `settings.backoffStrategy` computes the delay. */
const BACKOFF_TYPE = 'jittered';

/**
 * Execution callbacks in cluster mode, on BullMQ: one job per execution, its id the
 * execution's, so registering one twice (from any instance) makes one job and one
 * delivery. A job first sits delayed until its execution finishes (kick() promotes it,
 * the delay is the safety net); while the execution runs the handler sends it back to
 * delayed without counting an attempt. BullMQ keeps the rest: attempts, backoff (the
 * caller's strategy), the final failed state.
 */
export class BullmqCallbackQueue {
  private readonly queue: Queue<CallbackJobData, void, typeof JOB_NAME>;
  private worker: Worker<CallbackJobData, void, typeof JOB_NAME> | null = null;
  private workerTemplate: Redis | null = null;

  constructor(private readonly options: BullmqCallbackQueueOptions) {
    this.queue = new Queue<CallbackJobData, void, typeof JOB_NAME>(options.queueName, {
      connection: options.commands,
      prefix: options.prefix,
    });
    // An 'error' event without a listener would crash the process.
    this.queue.on('error', (error) => options.onError(error));
  }

  /** Adds the callback, first looked at after `firstLookMs`; a job with its id stays as it is. */
  async add(callback: ExpectedCallback, firstLookMs: number): Promise<void> {
    await this.queue.add(
      JOB_NAME,
      { tenant: callback.tenant, url: callback.url, createdAt: callback.createdAt.toISOString() },
      {
        jobId: callback.executionId,
        timestamp: callback.createdAt.getTime(),
        delay: firstLookMs,
        attempts: this.options.maxAttempts,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: { count: this.options.keepEnded },
        removeOnFail: { count: this.options.keepEnded },
        // lastError comes from failedReason; stacks of our own errors say nothing more.
        stackTraceLimit: 0,
      },
    );
  }

  /** Moves the callback's job from delayed to waiting; false when it was not delayed. */
  async promote(executionId: string): Promise<boolean> {
    const job = await this.queue.getJob(executionId);
    if (!job || !(await job.isDelayed())) return false;
    try {
      await job.promote();
      return true;
    } catch {
      // Taken by a worker (or removed) between the two reads: nothing left to promote.
      return false;
    }
  }

  /** The callback's delivery state as its job stands; null when there is no job. */
  async status(executionId: string): Promise<CallbackState | null> {
    const job = await this.queue.getJob(executionId);
    if (!job) return null;
    const attempts = Number(job.attemptsMade);
    const lastError = job.failedReason || null;
    // An ended job (one with a finish time) stays ended: its state says how.
    if (job.finishedOn) {
      const state = await job.getState();
      if (state === 'completed') {
        return { status: 'delivered', attempts, lastError, deliveredAt: new Date(job.finishedOn) };
      }
      if (state === 'failed') return { status: 'failed', attempts, lastError, deliveredAt: null };
      if (state === 'unknown') return null;
    }
    return { status: attempts > 0 ? 'pending' : 'waiting', attempts, lastError, deliveredAt: null };
  }

  /** Starts this instance's worker: it hands due callbacks to `handler`. */
  work(handler: CallbackHandler): void {
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

  /** Ends the worker once its attempts under way are done; callbacks stay in Redis. */
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
    handler: CallbackHandler,
  ): Worker<CallbackJobData, void, typeof JOB_NAME> {
    const { options } = this;
    const worker = new Worker<CallbackJobData, void, typeof JOB_NAME>(
      options.queueName,
      async (job, token) => {
        const number = job.attemptsMade + 1;
        const outcome = await handler(callbackOf(job), {
          number,
          last: number >= (job.opts.attempts ?? 1),
        });
        switch (outcome.kind) {
          case 'wait':
            // Back to delayed, no attempt counted; DelayedError tells the worker it moved.
            await job.moveToDelayed(Date.now() + outcome.delayMs, token);
            throw new DelayedError();
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

function callbackOf(job: CallbackJob): ExpectedCallback {
  if (job.id === undefined) throw new Error('A BullMQ job without an id');
  return {
    executionId: job.id,
    tenant: job.data.tenant,
    url: job.data.url,
    createdAt: new Date(job.data.createdAt),
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
