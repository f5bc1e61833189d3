import { AsyncLocalStorage } from 'node:async_hooks';
import { ExecutionScheduler } from './execution-scheduler';

/** A task that runs until the test releases it. */
function controllable(log: string[], name: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const task = async () => {
    log.push(`start ${name}`);
    await released;
    log.push(`end ${name}`);
  };
  return { task, release };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ExecutionScheduler', () => {
  it('runs at most maxRunning tasks at once and starts the rest in FIFO order', async () => {
    const log: string[] = [];
    const scheduler = new ExecutionScheduler({ maxRunning: 2, maxQueued: 10 });
    const tasks = ['a', 'b', 'c', 'd'].map((name) => controllable(log, name));
    tasks.forEach((t, i) => scheduler.submit(String(i), 'acme', t.task));

    expect(log).toEqual(['start a', 'start b']);
    expect(scheduler.running).toBe(2);
    expect(scheduler.queued).toBe(2);

    tasks[1].release();
    await settle();
    expect(log).toEqual(['start a', 'start b', 'end b', 'start c']);

    tasks[0].release();
    await settle();
    expect(log.slice(-2)).toEqual(['end a', 'start d']);
    expect(scheduler.queued).toBe(0);
  });

  it("starts one tenant's single task right after the first slot frees, ahead of another's flood", async () => {
    const log: string[] = [];
    const scheduler = new ExecutionScheduler({ maxRunning: 2, maxQueued: 1000 });
    const flood = Array.from({ length: 500 }, (_, i) => controllable(log, `a${i}`));
    flood.forEach((t, i) => expect(scheduler.submit(`a${i}`, 'a', t.task)).toBe('accepted'));
    const single = controllable(log, 'b0');
    expect(scheduler.submit('b0', 'b', single.task)).toBe('accepted');
    expect(log).toEqual(['start a0', 'start a1']);

    flood[0].release();
    await settle();
    expect(log.slice(2)).toEqual(['end a0', 'start b0']);

    flood[1].release();
    await settle();
    expect(log.slice(4)).toEqual(['end a1', 'start a2']);
  });

  it('takes tenants in turn and keeps each tenant in submission order', async () => {
    const log: string[] = [];
    const scheduler = new ExecutionScheduler({ maxRunning: 1, maxQueued: 10 });
    const first = controllable(log, 'a0');
    scheduler.submit('a0', 'a', first.task);
    for (const name of ['a1', 'a2', 'b0', 'b1', 'c0']) {
      scheduler.submit(name, name[0], () => {
        log.push(`start ${name}`);
        return Promise.resolve();
      });
    }
    first.release();
    for (let i = 0; i < 6; i += 1) await settle();
    expect(log.filter((line) => line.startsWith('start'))).toEqual([
      'start a0',
      'start b0',
      'start c0',
      'start a1',
      'start b1',
      'start a2',
    ]);
  });

  it('gives a free slot to another tenant while one is at its running cap', async () => {
    const log: string[] = [];
    const scheduler = new ExecutionScheduler({
      maxRunning: 3,
      maxQueued: 10,
      maxRunningPerTenant: 2,
    });
    const a = ['a0', 'a1', 'a2'].map((name) => controllable(log, name));
    a.forEach((t, i) => scheduler.submit(`a${i}`, 'a', t.task));
    expect(log).toEqual(['start a0', 'start a1']);
    expect(scheduler.running).toBe(2);
    expect(scheduler.runningOf('a')).toBe(2);
    expect(scheduler.queuedOf('a')).toBe(1);
    expect(scheduler.admission('b')).toBe('accepted');

    scheduler.submit('b0', 'b', controllable(log, 'b0').task);
    expect(log).toEqual(['start a0', 'start a1', 'start b0']);
    expect(scheduler.runningOf('b')).toBe(1);

    a[0].release();
    await settle();
    expect(log.slice(3)).toEqual(['end a0', 'start a2']);
  });

  it("refuses a tenant's task beyond its waiting share, and others' beyond the whole queue", () => {
    const log: string[] = [];
    const scheduler = new ExecutionScheduler({
      maxRunning: 1,
      maxQueued: 3,
      maxQueuedPerTenant: 2,
    });
    const submit = (id: string, tenant: string) =>
      scheduler.submit(id, tenant, controllable(log, id).task);
    expect(submit('a0', 'a')).toBe('accepted');
    expect(submit('a1', 'a')).toBe('accepted');
    expect(submit('a2', 'a')).toBe('accepted');
    expect(submit('a3', 'a')).toBe('tenant-queue-full');
    expect(scheduler.queuedOf('a')).toBe(2);

    expect(submit('b0', 'b')).toBe('accepted');
    expect(scheduler.isFull).toBe(true);
    expect(submit('c0', 'c')).toBe('queue-full');
    expect(scheduler.admission('a')).toBe('queue-full');
    expect(scheduler.queued).toBe(3);
    expect(log).toEqual(['start a0']);
  });

  it('refuses a task when both the slots and the queue are full', () => {
    const scheduler = new ExecutionScheduler({ maxRunning: 1, maxQueued: 1 });
    const log: string[] = [];
    expect(scheduler.submit('1', 'x', controllable(log, '1').task)).toBe('accepted');
    expect(scheduler.submit('2', 'x', controllable(log, '2').task)).toBe('accepted');
    expect(scheduler.isFull).toBe(true);
    expect(scheduler.submit('3', 'y', controllable(log, '3').task)).toBe('queue-full');
    expect(log).toEqual(['start 1']);
  });

  it('never starts a withdrawn task', async () => {
    const log: string[] = [];
    const scheduler = new ExecutionScheduler({ maxRunning: 1, maxQueued: 5 });
    const first = controllable(log, 'first');
    scheduler.submit('first', 'a', first.task);
    scheduler.submit('second', 'b', controllable(log, 'second').task);
    scheduler.submit('third', 'a', controllable(log, 'third').task);

    expect(scheduler.withdraw('second')).toBe(true);
    expect(scheduler.withdraw('second')).toBe(false);
    expect(scheduler.queuedOf('b')).toBe(0);
    expect(scheduler.tenantNames).toEqual(['a']);
    first.release();
    await settle();
    expect(log).toEqual(['start first', 'end first', 'start third']);
  });

  it('drains every waiting task, oldest first, without starting it', () => {
    const log: string[] = [];
    const scheduler = new ExecutionScheduler({ maxRunning: 1, maxQueued: 5 });
    scheduler.submit('a', 'x', controllable(log, 'a').task);
    scheduler.submit('b', 'y', controllable(log, 'b').task);
    scheduler.submit('c', 'x', controllable(log, 'c').task);
    expect(scheduler.drain()).toEqual(['b', 'c']);
    expect(scheduler.queued).toBe(0);
    expect(scheduler.queuedOf('x')).toBe(0);
    expect(scheduler.tenantNames).toEqual(['x']);
    expect(log).toEqual(['start a']);
  });

  it('frees the slot of a task that rejects and reports its error', async () => {
    const failures: unknown[] = [];
    const scheduler = new ExecutionScheduler({ maxRunning: 1, maxQueued: 5 }, (error) =>
      failures.push(error),
    );
    const log: string[] = [];
    scheduler.submit('bad', 'a', () => Promise.reject(new Error('boom')));
    scheduler.submit('next', 'a', controllable(log, 'next').task);
    await settle();
    expect(failures).toEqual([new Error('boom')]);
    expect(log).toEqual(['start next']);
    expect(scheduler.running).toBe(1);
    expect(scheduler.runningOf('a')).toBe(1);
  });

  it('forgets a tenant once it has nothing running or waiting', async () => {
    const scheduler = new ExecutionScheduler({ maxRunning: 1, maxQueued: 5 });
    const only = controllable([], 'only');
    scheduler.submit('only', 'a', only.task);
    expect(scheduler.tenantNames).toEqual(['a']);
    only.release();
    await settle();
    expect(scheduler.tenantNames).toEqual([]);
    expect(scheduler.runningOf('a')).toBe(0);
  });

  it("runs tasks outside the submitting request's async context", async () => {
    const requestContext = new AsyncLocalStorage<string>();
    const scheduler = new ExecutionScheduler({ maxRunning: 1, maxQueued: 5 });
    const seen: (string | undefined)[] = [];
    const first = controllable([], 'first');
    requestContext.run('request-1', () => {
      scheduler.submit('first', 'a', async () => {
        seen.push(requestContext.getStore());
        await first.task();
      });
    });
    requestContext.run('request-2', () => {
      scheduler.submit('second', 'b', () => {
        seen.push(requestContext.getStore());
        return Promise.resolve();
      });
    });
    requestContext.run('request-3', () => first.release());
    await settle();
    expect(seen).toEqual([undefined, undefined]);
  });
});
