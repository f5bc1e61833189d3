import type { ExecutionRecord } from '@brain-net/store';
import { T0, record } from '@brain-net/store/testing/execution-records';
import { ExecutionEvents } from './execution-events';
import { ExecutionStatistics, ExecutionTally } from './execution-statistics';

describe('ExecutionTally', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('counts finished executions by status', async () => {
    const tally = new ExecutionTally();
    await tally.record('completed', 100);
    await tally.record('completed', 200);
    await tally.record('timeout', 5000);
    await tally.record('cancelled', null);
    expect(tally.snapshot().totals).toEqual({
      queued: 0,
      running: 0,
      completed: 2,
      failed: 0,
      timeout: 1,
      cancelled: 1,
    });
  });

  it("reports the mean and the Summary's p95 of run times", async () => {
    const tally = new ExecutionTally();
    for (let ms = 1; ms <= 100; ms++) await tally.record('completed', ms);
    const { meanExecutionMs, p95ExecutionMs } = tally.snapshot();
    expect(meanExecutionMs).toBe(50.5);
    // The Summary's t-digest interpolates between the 95th and the 96th run time.
    expect(p95ExecutionMs).toBe(95.5);
  });

  it('has no mean or p95 before any execution ran, nor for one that never started', async () => {
    const tally = new ExecutionTally();
    expect(tally.snapshot()).toMatchObject({ meanExecutionMs: null, p95ExecutionMs: null });
    await tally.record('cancelled', null);
    expect(tally.snapshot()).toMatchObject({ meanExecutionMs: null, p95ExecutionMs: null });
  });

  it('forgets run times older than ten minutes in the p95, not in the mean', async () => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const tally = new ExecutionTally();
    for (let i = 0; i < 50; i++) await tally.record('completed', 10_000);
    jest.advanceTimersByTime(11 * 60_000);
    for (let i = 0; i < 50; i++) await tally.record('completed', 100);
    expect(tally.snapshot()).toEqual(
      expect.objectContaining({ meanExecutionMs: 5050, p95ExecutionMs: 100 }),
    );
  });

  it('keeps the slow runs of the last ten minutes in the p95', async () => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const tally = new ExecutionTally();
    for (let i = 0; i < 50; i++) await tally.record('completed', 10_000);
    jest.advanceTimersByTime(5 * 60_000);
    for (let i = 0; i < 50; i++) await tally.record('completed', 100);
    expect(tally.snapshot().p95ExecutionMs).toBe(10_000);
  });
});

describe('ExecutionStatistics', () => {
  it('tallies the finished events, run time from container start to end', async () => {
    const events = new ExecutionEvents();
    const statistics = new ExecutionStatistics(events);
    const finished = (id: string, status: 'completed' | 'failed', runMs: number | null) =>
      ({
        ...record(id, status),
        startedAt: runMs === null ? null : new Date(T0),
        endedAt: new Date(T0 + (runMs ?? 0)),
      }) satisfies ExecutionRecord;
    events.publish('a', { type: 'status', status: 'running' });
    events.publish('a', { type: 'finished', record: finished('a', 'completed', 300) });
    events.publish('b', { type: 'finished', record: finished('b', 'failed', 100) });
    events.publish('c', { type: 'finished', record: finished('c', 'failed', null) });
    // The figures follow once the Summary has answered: one turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    statistics.stop();
    events.publish('d', { type: 'finished', record: finished('d', 'completed', 900) });
    await new Promise((resolve) => setImmediate(resolve));

    expect(statistics.snapshot()).toEqual({
      totals: { queued: 0, running: 0, completed: 1, failed: 2, timeout: 0, cancelled: 0 },
      meanExecutionMs: 200,
      p95ExecutionMs: 300,
    });
  });
});
