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
    const scheduler = new ExecutionScheduler(2, 10);
    const tasks = ['a', 'b', 'c', 'd'].map((name) => controllable(log, name));
    tasks.forEach((t, i) => scheduler.submit(String(i), t.task));

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

  it('refuses a task when both the slots and the queue are full', () => {
    const scheduler = new ExecutionScheduler(1, 1);
    const log: string[] = [];
    expect(scheduler.submit('1', controllable(log, '1').task)).toBe(true);
    expect(scheduler.submit('2', controllable(log, '2').task)).toBe(true);
    expect(scheduler.isFull).toBe(true);
    expect(scheduler.submit('3', controllable(log, '3').task)).toBe(false);
    expect(log).toEqual(['start 1']);
  });

  it('never starts a withdrawn task', async () => {
    const log: string[] = [];
    const scheduler = new ExecutionScheduler(1, 5);
    const first = controllable(log, 'first');
    scheduler.submit('first', first.task);
    scheduler.submit('second', controllable(log, 'second').task);
    scheduler.submit('third', controllable(log, 'third').task);

    expect(scheduler.withdraw('second')).toBe(true);
    expect(scheduler.withdraw('second')).toBe(false);
    first.release();
    await settle();
    expect(log).toEqual(['start first', 'end first', 'start third']);
  });

  it('drains every waiting task without starting it', () => {
    const log: string[] = [];
    const scheduler = new ExecutionScheduler(1, 5);
    scheduler.submit('a', controllable(log, 'a').task);
    scheduler.submit('b', controllable(log, 'b').task);
    scheduler.submit('c', controllable(log, 'c').task);
    expect(scheduler.drain()).toEqual(['b', 'c']);
    expect(scheduler.queued).toBe(0);
    expect(log).toEqual(['start a']);
  });

  it("runs tasks outside the submitting request's async context", async () => {
    const requestContext = new AsyncLocalStorage<string>();
    const scheduler = new ExecutionScheduler(1, 5);
    const seen: (string | undefined)[] = [];
    const first = controllable([], 'first');
    requestContext.run('request-1', () => {
      scheduler.submit('first', async () => {
        seen.push(requestContext.getStore());
        await first.task();
      });
    });
    requestContext.run('request-2', () => {
      scheduler.submit('second', () => {
        seen.push(requestContext.getStore());
        return Promise.resolve();
      });
    });
    requestContext.run('request-3', () => first.release());
    await settle();
    expect(seen).toEqual([undefined, undefined]);
  });
});
