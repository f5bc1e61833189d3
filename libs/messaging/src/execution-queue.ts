/** Why the queue does not take a job now. */
export type QueueRefusal = 'queue-full' | 'tenant-queue-full';

/** Jobs waiting (in the whole queue, every instance's) and running on this instance. */
export interface QueueLoad {
  readonly waiting: number;
  readonly running: number;
}

/** One tenant's jobs: running on this instance, and waiting. */
export interface TenantLoad {
  readonly tenant: string;
  readonly running: number;
  readonly queued: number;
}

/** Runs one job to its end; never rejects for the job's own failure. */
export type JobHandler = (executionId: string) => Promise<void>;

/**
 * Where accepted executions wait for a worker. Port: in-process (fair across tenants) on
 * one machine, BullMQ on Redis in cluster mode. Holds ids only: the store has the rest.
 */
export abstract class ExecutionQueue {
  /**
   * True when the jobs queued here run in this process and nowhere else (in-process):
   * admitting one then needs this instance's own engine, and what the store holds
   * unfinished at start-up died with the previous process. A shared queue says false.
   */
  readonly runsJobsInThisProcess: boolean = false;
  /**
   * Null if a job of this tenant would be taken now, or `count` jobs together (a batch:
   * all or none); else why not. A check, not a hold.
   */
  abstract refusal(tenant: string, count?: number): Promise<QueueRefusal | null>;
  /**
   * Adds a job; a worker (this instance's or another's) runs it through its handler.
   * Null once added; else why it was not: a queue that keeps a limit atomically refuses
   * here what refusal() let through while another submit took the last place.
   */
  abstract enqueue(executionId: string, tenant: string): Promise<QueueRefusal | null>;
  /** Takes a job back before any worker started it; false if it was not waiting. */
  abstract withdraw(executionId: string): Promise<boolean>;
  /**
   * Starts running jobs on this instance, up to its concurrency. `onLost` hears of jobs
   * whose worker was lost (an instance killed mid-job), on whichever instance noticed,
   * the lost worker's own included (one that was frozen): it must stop that job.
   */
  abstract work(handler: JobHandler, onLost: (executionId: string) => void): void;
  /**
   * Stops taking jobs on this instance. Returns the ids of jobs that will now never run
   * (an in-process queue's waiting jobs); a shared queue keeps them for other workers.
   */
  abstract stopWork(): Promise<string[]>;
  abstract load(): Promise<QueueLoad>;
  /**
   * Running and waiting jobs of each tenant that has any, for per-tenant gauges; null
   * when the queue does not know them. An in-process queue knows (what runs and waits
   * here); a shared queue (BullMQ, cluster mode) keeps no per-tenant counts and says
   * null: the caller counts what runs on this instance itself, and nothing of what waits.
   */
  abstract tenantLoads(): TenantLoad[] | null;
  /**
   * Lets go of what the queue holds (its worker, the connections it opened), after
   * stopWork() and once the jobs of this instance ended; shutdown calls it once. A no-op
   * for a queue that holds nothing of its own (in-process).
   */
  abstract close(): Promise<void>;
}
