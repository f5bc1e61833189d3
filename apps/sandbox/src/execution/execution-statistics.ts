import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { EXECUTION_STATUSES, ExecutionStatus } from '@brain-net/store';
import { ExecutionEvents } from './execution-events';

/** How many recent durations the mean and p95 are computed over. */
const DURATION_WINDOW = 1000;

export interface ExecutionStatisticsSnapshot {
  readonly totals: Record<ExecutionStatus, number>;
  /** Over the last DURATION_WINDOW finished executions, container start to end. */
  readonly meanExecutionMs: number | null;
  readonly p95ExecutionMs: number | null;
}

/** Counts of finished executions by status since start, and recent run times. */
export class ExecutionTally {
  private readonly totals = Object.fromEntries(EXECUTION_STATUSES.map((s) => [s, 0])) as Record<
    ExecutionStatus,
    number
  >;
  private readonly durations: number[] = [];

  record(status: ExecutionStatus, durationMs: number | null): void {
    this.totals[status] += 1;
    if (durationMs === null) return;
    this.durations.push(durationMs);
    if (this.durations.length > DURATION_WINDOW) this.durations.shift();
  }

  snapshot(): ExecutionStatisticsSnapshot {
    const sorted = [...this.durations].sort((a, b) => a - b);
    const mean = sorted.length ? sorted.reduce((sum, d) => sum + d, 0) / sorted.length : null;
    // Nearest-rank percentile.
    const p95 = sorted.length ? sorted[Math.ceil(0.95 * sorted.length) - 1] : null;
    return { totals: { ...this.totals }, meanExecutionMs: mean, p95ExecutionMs: p95 };
  }
}

/** Keeps an ExecutionTally fed from the execution events. */
@Injectable()
export class ExecutionStatistics implements OnApplicationShutdown {
  private readonly tally = new ExecutionTally();
  private readonly unsubscribe: () => void;

  constructor(events: ExecutionEvents) {
    this.unsubscribe = events.subscribeAll((_id, event) => {
      if (event.type !== 'finished') return;
      const { record } = event;
      const runMs =
        record.startedAt && record.endedAt
          ? record.endedAt.getTime() - record.startedAt.getTime()
          : null;
      this.tally.record(record.status, runMs);
    });
  }

  snapshot(): ExecutionStatisticsSnapshot {
    return this.tally.snapshot();
  }

  // Not onModuleDestroy: jobs that finish during the shutdown grace period still count.
  onApplicationShutdown(): void {
    this.unsubscribe();
  }
}
