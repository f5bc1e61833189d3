import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { defineLuaCommands, parseRedisReply, readLua } from '@brain-net/store';
import {
  ExecutionQueue,
  type JobHandler,
  type QueueLoad,
  type QueueRefusal,
} from './execution-queue';

export interface BullmqExecutionQueueOptions {
  /** The BullMQ queue every instance shares, e.g. 'sandbox-executions'. */
  readonly queueName: string;
  /** BullMQ's key prefix; 'bull' by default. */
  readonly prefix?: string;
  /** For the Queue: a 'commands' connection, which fails fast while Redis is down. */
  readonly commands: Redis;
  /** Makes the template of the Worker's connections (a 'worker' one); called once per work(). */
  readonly workerConnection: () => Redis;
  /** Jobs this instance runs at once (MAX_CONCURRENT_EXECUTIONS). */
  readonly concurrency: number;
  /** Jobs that may wait, across the cluster (MAX_QUEUED_EXECUTIONS). */
  readonly maxWaiting: number;
  /** Jobs of one tenant that may wait, across the cluster (MAX_QUEUED_PER_TENANT); maxWaiting when absent. */
  readonly maxWaitingPerTenant?: number;
  /** How long the job of a silent (killed) worker stays its own; 15 s by default. */
  readonly lockMs?: number;
  /** How often workers look for jobs whose worker vanished; 5 s by default. */
  readonly stalledCheckMs?: number;
  /** Hears errors of the queue and the worker (connection trouble mostly). */
  readonly onError: (error: unknown) => void;
}

interface ExecutionJobData {
  readonly tenant: string;
}

const JOB_NAME = 'execution';
type ExecutionJob = Job<ExecutionJobData, void, typeof JOB_NAME>;

/** Jobs kept after they ended, for debugging; the store holds the outcome anyway. */
const KEEP_ENDED_JOBS = { count: 1000 };
const DEFAULT_LOCK_MS = 15_000;
const DEFAULT_STALLED_CHECK_MS = 5_000;
/** What BullMQ says of a job whose worker stopped renewing its lock (maxStalledCount 0). */
const STALLED_REASON = 'job stalled more than allowable limit';
/**
 * How long a place taken for a job BullMQ does not know yet stays taken: the add that
 * follows the take is one round trip; past this, its instance died or the add failed.
 */
const ADD_GRACE_MS = 10_000;
/** Job states in which a job holds its tenant's waiting place. */
const WAITING_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'prioritized',
  'delayed',
  'waiting-children',
]);

/** The queue's script: a tenant's waiting place taken, with its cap checked (see the file). */
const QUEUE_COMMANDS = {
  brainNetQueueTakePlace: { numberOfKeys: 1, lua: readLua(__dirname, 'take-waiting-place.lua') },
} as const;

/** The methods QUEUE_COMMANDS defines. */
interface QueueCommands {
  brainNetQueueTakePlace(placesKey: string, executionId: string, cap: number): Promise<unknown>;
}

/** take-waiting-place.lua: 1 when the job holds a place, 0 when none was free. */
const takePlaceReplySchema = z.union([z.literal(0), z.literal(1)]);

/**
 * The queue in cluster mode: BullMQ on the shared Redis. Any instance enqueues, every
 * instance that works takes jobs up to its concurrency. A tenant's waiting jobs hold
 * places in a set of its own in Redis, taken atomically with the cap checked, so
 * maxWaitingPerTenant holds across the cluster. Jobs run first come, first served: a cap
 * on a tenant's running jobs, or fair turns between tenants, needs BullMQ's groups,
 * which only its commercial edition has.
 */
export class BullmqExecutionQueue extends ExecutionQueue {
  private readonly queue: Queue<ExecutionJobData, void, typeof JOB_NAME>;
  private worker: Worker<ExecutionJobData, void, typeof JOB_NAME> | null = null;
  private workerTemplate: Redis | null = null;
  private running = 0;
  private readonly commands: Redis & QueueCommands;

  constructor(private readonly options: BullmqExecutionQueueOptions) {
    super();
    this.commands = defineLuaCommands<QueueCommands>(options.commands, QUEUE_COMMANDS);
    this.queue = new Queue<ExecutionJobData, void, typeof JOB_NAME>(options.queueName, {
      connection: options.commands,
      prefix: options.prefix,
    });
    // An 'error' event without a listener would crash the process.
    this.queue.on('error', (error) => options.onError(error));
  }

  async refusal(tenant: string, count = 1): Promise<QueueRefusal | null> {
    if ((await this.waitingCount()) + count > this.options.maxWaiting) return 'queue-full';
    let held = await this.commands.zcard(this.placesKey(tenant));
    if (held + count > this.maxWaitingPerTenant) held = await this.reclaimPlaces(tenant);
    return held + count > this.maxWaitingPerTenant ? 'tenant-queue-full' : null;
  }

  /**
   * Takes the tenant's place, then adds the job. A failed add keeps the place: the job
   * may be in Redis all the same (a reply lost in a timeout); reclaimPlaces frees it
   * after ADD_GRACE_MS if it is not.
   */
  async enqueue(executionId: string, tenant: string): Promise<QueueRefusal | null> {
    if (!(await this.takePlace(executionId, tenant))) {
      await this.reclaimPlaces(tenant);
      if (!(await this.takePlace(executionId, tenant))) return 'tenant-queue-full';
    }
    // The execution id is the job id: adding the same execution twice adds one job.
    await this.queue.add(
      JOB_NAME,
      { tenant },
      {
        jobId: executionId,
        attempts: 1,
        removeOnComplete: KEEP_ENDED_JOBS,
        removeOnFail: KEEP_ENDED_JOBS,
      },
    );
    return null;
  }

  async withdraw(executionId: string): Promise<boolean> {
    const job = await this.queue.getJob(executionId);
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'prioritized' && state !== 'delayed') return false;
    // 0 when a worker took it since getState: BullMQ does not remove a locked job. (A job
    // taken and already ended in between would go too; a run outlasts a round trip.)
    if ((await this.queue.remove(executionId)) !== 1) return false;
    await this.releasePlace(executionId, job.data.tenant);
    return true;
  }

  work(handler: JobHandler, onLost: (executionId: string) => void): void {
    if (this.worker) throw new Error('This queue already works');
    const { options } = this;
    const template = options.workerConnection();
    try {
      this.worker = this.createWorker(template, handler, onLost);
      this.workerTemplate = template;
    } catch (error) {
      template.disconnect();
      throw error;
    }
  }

  /**
   * Takes no more jobs, at once: the jobs this worker runs go on (the service's shutdown
   * lets them finish or cancels them); close() then ends the worker. Waiting jobs stay
   * in Redis, for the workers of other instances.
   */
  async stopWork(): Promise<string[]> {
    await this.worker?.pause(true);
    return [];
  }

  /** Ends the worker once its jobs are done, and the queue; the `commands` connection stays open (it is not ours). */
  async close(): Promise<void> {
    const worker = this.worker;
    const template = this.workerTemplate;
    this.worker = null;
    this.workerTemplate = null;
    await worker?.close();
    if (template) await quitQuietly(template);
    await this.queue.close();
  }

  async load(): Promise<QueueLoad> {
    return { waiting: await this.waitingCount(), running: this.running };
  }

  /** Unknown: BullMQ keeps no per-tenant counts of the jobs that wait (see the port). */
  tenantLoads(): null {
    return null;
  }

  private createWorker(
    template: Redis,
    handler: JobHandler,
    onLost: (executionId: string) => void,
  ): Worker<ExecutionJobData, void, typeof JOB_NAME> {
    const { options } = this;
    const worker = new Worker<ExecutionJobData, void, typeof JOB_NAME>(
      options.queueName,
      async (job) => {
        this.running += 1;
        try {
          // Running, it waits no more. Redis failing here must not fail the run:
          // reclaimPlaces frees the place of a job that is no longer waiting.
          await this.releasePlace(jobIdOf(job), job.data.tenant).catch(options.onError);
          await handler(jobIdOf(job));
        } finally {
          this.running -= 1;
        }
      },
      {
        // BullMQ runs its commands on this client and its blocking fetch on a duplicate;
        // it closes the duplicate only, so stopWork quits this one.
        connection: template,
        prefix: options.prefix,
        concurrency: options.concurrency,
        lockDuration: options.lockMs ?? DEFAULT_LOCK_MS,
        stalledInterval: options.stalledCheckMs ?? DEFAULT_STALLED_CHECK_MS,
        // A job whose worker vanished is not run again: running user code twice is worse
        // than a clear failure. BullMQ puts it back in line marked as failed, and the
        // worker that takes it (any instance's) fails it without calling the processor.
        maxStalledCount: 0,
        autorun: true,
      },
    );
    worker.on('failed', (job, error) => {
      // Our handler never rejects for the job's own failure, so a failed job is a lost one.
      if (job) onLost(jobIdOf(job));
      // A worker lost between taking a job and releasing its place: released here.
      if (job) this.releasePlace(jobIdOf(job), job.data.tenant).catch(options.onError);
      if (error.message !== STALLED_REASON) options.onError(error);
    });
    // This worker's own job, taken from it (frozen, or cut off from Redis, past lockMs):
    // another instance may record it lost any moment, so this one must stop running it.
    worker.on('lockRenewalFailed', (jobIds) => jobIds.forEach(onLost));
    // An 'error' event without a listener would crash the process.
    worker.on('error', (error) => options.onError(error));
    return worker;
  }

  private get maxWaitingPerTenant(): number {
    return this.options.maxWaitingPerTenant ?? this.options.maxWaiting;
  }

  private placesKey(tenant: string): string {
    return `${this.options.prefix ?? 'bull'}:${this.options.queueName}:waiting-of:${tenant}`;
  }

  private async takePlace(executionId: string, tenant: string): Promise<boolean> {
    const placesKey = this.placesKey(tenant);
    const reply = await this.commands.brainNetQueueTakePlace(
      placesKey,
      executionId,
      this.maxWaitingPerTenant,
    );
    const source = `take-waiting-place.lua for ${placesKey}`;
    return parseRedisReply(takePlaceReplySchema, reply, source) === 1;
  }

  private async releasePlace(executionId: string, tenant: string): Promise<void> {
    await this.commands.zrem(this.placesKey(tenant), executionId);
  }

  /**
   * Frees the places of jobs that wait no more but were not released (an instance died
   * before it could): started, ended or gone, or never added within ADD_GRACE_MS.
   * Asked only of a tenant at its cap. Returns the places still held.
   */
  private async reclaimPlaces(tenant: string): Promise<number> {
    const { commands } = this;
    const key = this.placesKey(tenant);
    const [held, [seconds, micros]] = await Promise.all([
      commands.zrange(key, '0', '-1', 'WITHSCORES'),
      commands.time(),
    ]);
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const places = Array.from({ length: held.length / 2 }, (_, i) => ({
      id: held[2 * i],
      takenAt: Number(held[2 * i + 1]),
    }));
    // Asked side by side: one round trip's wait for the whole cap, not one per place.
    const states = await Promise.all(places.map(({ id }) => this.queue.getJobState(id)));
    const stale = places
      .filter(({ takenAt }, i) => {
        const pending = states[i] === 'unknown' && now - takenAt < ADD_GRACE_MS;
        return !pending && !WAITING_STATES.has(states[i]);
      })
      .map(({ id }) => id);
    if (stale.length > 0) await commands.zrem(key, ...stale);
    return held.length / 2 - stale.length;
  }

  private async waitingCount(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed');
    return (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
  }
}

function jobIdOf(job: ExecutionJob): string {
  // Every job here was added with jobId set to its execution id.
  if (job.id === undefined) throw new Error('A BullMQ job without an id');
  return job.id;
}

async function quitQuietly(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    // Already closed, or Redis is gone: either way the connection is done.
    redis.disconnect();
  }
}
