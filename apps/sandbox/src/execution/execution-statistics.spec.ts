import { ExecutionTally } from './execution-statistics';

describe('ExecutionTally', () => {
  it('counts finished executions by status', () => {
    const tally = new ExecutionTally();
    tally.record('completed', 100);
    tally.record('completed', 200);
    tally.record('timeout', 5000);
    tally.record('cancelled', null);
    expect(tally.snapshot().totals).toEqual({
      queued: 0,
      running: 0,
      completed: 2,
      failed: 0,
      timeout: 1,
      cancelled: 1,
    });
  });

  it('reports the mean and the nearest-rank p95 of run times', () => {
    const tally = new ExecutionTally();
    for (let ms = 1; ms <= 100; ms++) tally.record('completed', ms);
    const { meanExecutionMs, p95ExecutionMs } = tally.snapshot();
    expect(meanExecutionMs).toBe(50.5);
    expect(p95ExecutionMs).toBe(95);
  });

  it('has no mean or p95 before any execution ran', () => {
    const snapshot = new ExecutionTally().snapshot();
    expect(snapshot.meanExecutionMs).toBeNull();
    expect(snapshot.p95ExecutionMs).toBeNull();
  });
});
