import type { QueueLoad, QueueRefusal } from '@brain-net/messaging';
import { DomainError } from '../errors/domain-error';

/** The 429 for a submit the queue refused; its code says whose queue is full. */
export function queueRefusalError(
  refusal: QueueRefusal,
  load: QueueLoad,
  tenant: string,
  retryAfterS: number,
): DomainError {
  switch (refusal) {
    case 'queue-full':
      return new DomainError(
        'QUEUE_FULL',
        `${load.running} executions are running here and ${load.waiting} are waiting; try again shortly.`,
        { retryAfterS },
      );
    case 'tenant-queue-full':
      return new DomainError(
        'TENANT_QUEUE_FULL',
        `Tenant ${tenant} already has as many executions waiting as it may; try again shortly.`,
        { retryAfterS },
      );
  }
}
