import { DomainError } from '../errors/domain-error';
import {
  DrainableExecutions,
  ShutdownCancellation,
  drainExecutions,
  shuttingDownError,
} from './graceful-shutdown';

interface FakeJob {
  readonly done: Promise<void>;
  /** Ms from being cancelled to being gone (container killed and removed); null: never. */
  readonly goneAfterCancelMs: number | null;
  end(): void;
}

/** Executions as the drain sees them, with a log of what it did in which order. */
class FakeExecutions implements DrainableExecutions {
  readonly log: string[] = [];
  accepting = true;
  private readonly queued = new Set<FakeJob>();
  private readonly running = new Set<FakeJob>();

  /** A job that waits for a slot. */
  queue(): FakeJob {
    return this.add(this.queued, null);
  }

  /** A job that runs; it ends by itself after `endsAfterMs` unless that is null. */
  run(endsAfterMs: number | null, goneAfterCancelMs: number | null = 0): FakeJob {
    const job = this.add(this.running, goneAfterCancelMs);
    if (endsAfterMs !== null) setTimeout(() => job.end(), endsAfterMs);
    return job;
  }

  stopAccepting(): void {
    this.accepting = false;
    this.log.push('stop accepting');
  }

  cancelQueued(): number {
    const count = this.queued.size;
    if (count > 0) this.log.push(`cancel ${count} queued`);
    [...this.queued].forEach((job) => job.end());
    return count;
  }

  unfinished(): readonly Promise<void>[] {
    return [...this.queued, ...this.running].map((job) => job.done);
  }

  cancelUnfinished(): number {
    const jobs = [...this.queued, ...this.running];
    this.log.push(`cancel ${jobs.length} unfinished`);
    for (const job of jobs) {
      if (job.goneAfterCancelMs !== null) setTimeout(() => job.end(), job.goneAfterCancelMs);
    }
    return jobs.length;
  }

  abandonUnfinished(): number {
    const jobs = [...this.queued, ...this.running];
    this.log.push(`abandon ${jobs.length}`);
    jobs.forEach((job) => job.end());
    return jobs.length;
  }

  private add(set: Set<FakeJob>, goneAfterCancelMs: number | null): FakeJob {
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const job: FakeJob = {
      done,
      goneAfterCancelMs,
      end: () => {
        set.delete(job);
        resolve();
      },
    };
    set.add(job);
    return job;
  }
}

const TIMINGS = { graceMs: 4_000, cancelWaitMs: 5_000 };

describe('drainExecutions (the order of a graceful shutdown)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('stops accepting and cancels the queued at once, then lets the running finish', async () => {
    const executions = new FakeExecutions();
    executions.queue();
    executions.queue();
    executions.run(1_500);

    const drained = drainExecutions(executions, TIMINGS);
    // Before anything is awaited: no submit can slip in once shutdown has begun.
    expect(executions.accepting).toBe(false);
    expect(executions.log).toEqual(['stop accepting', 'cancel 2 queued']);

    await jest.advanceTimersByTimeAsync(1_500);
    await expect(drained).resolves.toEqual({
      cancelledQueued: 2,
      running: 1,
      cancelledAtDeadline: 0,
      abandoned: 0,
      elapsedMs: 1_500,
    });
    expect(executions.log).toEqual(['stop accepting', 'cancel 2 queued', 'cancel 0 unfinished']);
  });

  it('cancels what still runs at the deadline, not before, and waits for its containers', async () => {
    const executions = new FakeExecutions();
    executions.run(1_000);
    executions.run(60_000, 700);

    const drained = drainExecutions(executions, TIMINGS);
    await jest.advanceTimersByTimeAsync(3_999);
    expect(executions.log).toEqual(['stop accepting']);
    await jest.advanceTimersByTimeAsync(1);
    expect(executions.log).toEqual(['stop accepting', 'cancel 1 unfinished']);

    await jest.advanceTimersByTimeAsync(700);
    await expect(drained).resolves.toEqual({
      cancelledQueued: 0,
      running: 2,
      cancelledAtDeadline: 1,
      abandoned: 0,
      elapsedMs: 4_700,
    });
  });

  it('closes the records of cancelled ones whose containers do not go in time', async () => {
    const executions = new FakeExecutions();
    executions.run(null, null);

    const drained = drainExecutions(executions, TIMINGS);
    await jest.advanceTimersByTimeAsync(4_000 + 5_000);
    await expect(drained).resolves.toMatchObject({
      cancelledAtDeadline: 1,
      abandoned: 1,
      elapsedMs: 9_000,
    });
    expect(executions.log).toEqual(['stop accepting', 'cancel 1 unfinished', 'abandon 1']);
  });

  it('cancels an execution queued after it began (a submit already past its check)', async () => {
    const executions = new FakeExecutions();
    executions.run(1_000);

    const drained = drainExecutions(executions, TIMINGS);
    await jest.advanceTimersByTimeAsync(500);
    executions.queue();
    await jest.advanceTimersByTimeAsync(500);
    await expect(drained).resolves.toMatchObject({
      cancelledQueued: 1,
      cancelledAtDeadline: 0,
      elapsedMs: 1_000,
    });
  });

  it('with no grace period, cancels what runs at once', async () => {
    const executions = new FakeExecutions();
    executions.run(60_000, 300);

    const drained = drainExecutions(executions, { graceMs: 0, cancelWaitMs: 5_000 });
    await jest.advanceTimersByTimeAsync(0);
    expect(executions.log).toEqual(['stop accepting', 'cancel 1 unfinished']);
    await jest.advanceTimersByTimeAsync(300);
    await expect(drained).resolves.toMatchObject({ cancelledAtDeadline: 1, elapsedMs: 300 });
  });

  it('returns at once when nothing runs', async () => {
    const executions = new FakeExecutions();
    await expect(drainExecutions(executions, TIMINGS)).resolves.toMatchObject({
      running: 0,
      elapsedMs: 0,
    });
  });
});

describe('what a client is told', () => {
  it('refuses a submit with 503 SHUTTING_DOWN and a Retry-After', () => {
    const error = shuttingDownError();
    expect(error).toBeInstanceOf(DomainError);
    expect(error.status).toBe(503);
    expect(error.code).toBe('SHUTTING_DOWN');
    expect(error.details.retryAfterS).toBeGreaterThan(0);
  });

  it('records why an execution was cancelled at the deadline', () => {
    expect(new ShutdownCancellation(4_000).message).toBe(
      'The service shut down before this execution finished (it waited 4000 ms for it); submit it again.',
    );
  });
});
