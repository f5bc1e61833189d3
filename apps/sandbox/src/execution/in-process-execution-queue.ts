import {
  ExecutionQueue,
  JobHandler,
  QueueLoad,
  QueueRefusal,
  TenantLoad,
} from '@brain-net/messaging';
import { ExecutionScheduler, SchedulerLimits } from './execution-scheduler';

export type { TenantLoad } from '@brain-net/messaging';

/**
 * The queue of a service alone on its machine: in memory, fair across tenants (see
 * ExecutionScheduler). Waiting jobs are ids whose records wait in the store; a restart
 * closes them there.
 */
export class InProcessExecutionQueue extends ExecutionQueue {
  override readonly runsJobsInThisProcess = true;
  private readonly scheduler: ExecutionScheduler;
  private handler: JobHandler | null = null;

  constructor(limits: SchedulerLimits, onTaskFailed: (error: unknown) => void) {
    super();
    this.scheduler = new ExecutionScheduler(limits, onTaskFailed);
  }

  refusal(tenant: string, count = 1): Promise<QueueRefusal | null> {
    const admission = this.scheduler.admission(tenant, count);
    return Promise.resolve(admission === 'accepted' ? null : admission);
  }

  /**
   * Queues past the waiting limits if need be: refusal() and enqueue() are two steps
   * with the store's write between them, so submits admitted together may overshoot
   * the limits by the submits in flight. Never refuses.
   */
  enqueue(executionId: string, tenant: string): Promise<null> {
    const handler = this.handler;
    if (!handler) return Promise.reject(new Error('this instance runs no executions'));
    this.scheduler.submit(executionId, tenant, () => handler(executionId), { evenIfFull: true });
    return Promise.resolve(null);
  }

  withdraw(executionId: string): Promise<boolean> {
    return Promise.resolve(this.scheduler.withdraw(executionId));
  }

  /** A lost worker is a lost process: its restart closes its records (closeUnfinished). */
  work(handler: JobHandler): void {
    this.handler = handler;
  }

  /** Takes no more jobs, and hands back the waiting ones, which will never run here. */
  stopWork(): Promise<string[]> {
    this.handler = null;
    return Promise.resolve(this.scheduler.drain());
  }

  load(): Promise<QueueLoad> {
    return Promise.resolve({ waiting: this.scheduler.queued, running: this.scheduler.running });
  }

  /** Every job runs and waits here: the scheduler knows each tenant's. */
  tenantLoads(): TenantLoad[] {
    return this.scheduler.tenantNames.map((tenant) => ({
      tenant,
      running: this.scheduler.runningOf(tenant),
      queued: this.scheduler.queuedOf(tenant),
    }));
  }

  /** Holds no worker nor connection: nothing to let go of. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** How many of this tenant's jobs wait (for the refusal's message). */
  queuedOf(tenant: string): number {
    return this.scheduler.queuedOf(tenant);
  }
}
