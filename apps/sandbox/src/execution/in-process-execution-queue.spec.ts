import { behavesAsAnExecutionQueue } from '@brain-net/messaging/testing/execution-queue-contract';
import { InProcessExecutionQueue } from './in-process-execution-queue';

describe('InProcessExecutionQueue', () => {
  let failures: unknown[] = [];

  beforeEach(() => {
    failures = [];
  });

  afterEach(() => {
    // The contract's handlers never reject: a task that did is a bug of the queue.
    expect(failures).toEqual([]);
  });

  behavesAsAnExecutionQueue(
    ({ concurrency, maxWaiting, maxWaitingPerTenant }) =>
      new InProcessExecutionQueue(
        {
          maxRunning: concurrency,
          maxQueued: maxWaiting,
          maxQueuedPerTenant: maxWaitingPerTenant,
        },
        (error) => failures.push(error),
      ),
    // refusal() and enqueue() are two steps here: enqueue never refuses.
    { enqueueKeepsTenantCap: false, stopWorkHandsBackWaiting: true },
  );

  it('rejects a job while it does not work: nothing here would ever run it', async () => {
    const queue = new InProcessExecutionQueue({ maxRunning: 1, maxQueued: 1 }, () => undefined);
    await expect(queue.enqueue('early', 'tenant-a')).rejects.toThrow(/runs no executions/);

    queue.work(() => Promise.resolve());
    await queue.stopWork();
    await expect(queue.enqueue('late', 'tenant-a')).rejects.toThrow(/runs no executions/);
    expect(await queue.load()).toEqual({ waiting: 0, running: 0 });
  });

  it('reports the running and waiting jobs of each tenant', async () => {
    const queue = new InProcessExecutionQueue({ maxRunning: 1, maxQueued: 5 }, () => undefined);
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    queue.work(() => held);
    await queue.enqueue('a1', 'tenant-a');
    await queue.enqueue('a2', 'tenant-a');
    await queue.enqueue('b1', 'tenant-b');

    expect(queue.tenantLoads()).toEqual([
      { tenant: 'tenant-a', running: 1, queued: 1 },
      { tenant: 'tenant-b', running: 0, queued: 1 },
    ]);
    expect(queue.queuedOf('tenant-b')).toBe(1);
    expect(await queue.stopWork()).toEqual(['a2', 'b1']);
    release();
  });
});
