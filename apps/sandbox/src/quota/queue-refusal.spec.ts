import { ExecutionScheduler } from '../execution/execution-scheduler';
import { queueRefusalError } from './queue-refusal';

describe('queueRefusalError', () => {
  const never = () => new Promise<void>(() => undefined);
  const scheduler = new ExecutionScheduler({ maxRunning: 1, maxQueued: 2, maxQueuedPerTenant: 1 });
  scheduler.submit('a0', 'a', never);
  scheduler.submit('a1', 'a', never);

  it('says QUEUE_FULL when every waiting place is taken', () => {
    const error = queueRefusalError('queue-full', scheduler, 'b', 6);
    expect(error.code).toBe('QUEUE_FULL');
    expect(error.status).toBe(429);
    expect(error.details.retryAfterS).toBe(6);
    expect(error.message).toContain('1 executions are running and 1 are waiting');
  });

  it("says TENANT_QUEUE_FULL when the tenant's share is taken", () => {
    const error = queueRefusalError('tenant-queue-full', scheduler, 'a', 6);
    expect(error.code).toBe('TENANT_QUEUE_FULL');
    expect(error.status).toBe(429);
    expect(error.message).toContain('Tenant a already has 1 executions waiting');
  });
});
