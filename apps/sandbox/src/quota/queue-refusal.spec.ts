import { queueRefusalError } from './queue-refusal';

describe('queueRefusalError', () => {
  const load = { running: 1, waiting: 2 };

  it('says QUEUE_FULL when every waiting place is taken', () => {
    const error = queueRefusalError('queue-full', load, 'b', 6);
    expect(error.code).toBe('QUEUE_FULL');
    expect(error.status).toBe(429);
    expect(error.details.retryAfterS).toBe(6);
    expect(error.message).toContain('1 executions are running here and 2 are waiting');
  });

  it("says TENANT_QUEUE_FULL when the tenant's share is taken", () => {
    const error = queueRefusalError('tenant-queue-full', load, 'a', 6);
    expect(error.code).toBe('TENANT_QUEUE_FULL');
    expect(error.status).toBe(429);
    expect(error.message).toContain('Tenant a already has as many executions waiting as it may');
  });
});
