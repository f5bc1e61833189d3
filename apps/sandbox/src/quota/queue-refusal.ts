import { DomainError } from '../errors/domain-error';
import type { ExecutionScheduler, SchedulerRefusal } from '../execution/execution-scheduler';

/** The 429 for a submit the scheduler refused; its code says whose queue is full. */
export function queueRefusalError(
  refusal: SchedulerRefusal,
  scheduler: ExecutionScheduler,
  tenant: string,
  retryAfterS: number,
): DomainError {
  switch (refusal) {
    case 'queue-full':
      return new DomainError(
        'QUEUE_FULL',
        `${scheduler.running} executions are running and ${scheduler.queued} are waiting; try again shortly.`,
        { retryAfterS },
      );
    case 'tenant-queue-full':
      return new DomainError(
        'TENANT_QUEUE_FULL',
        `Tenant ${tenant} already has ${scheduler.queuedOf(tenant)} executions waiting, the most it may; try again shortly.`,
        { retryAfterS },
      );
  }
}
