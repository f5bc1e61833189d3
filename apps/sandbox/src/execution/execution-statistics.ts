import { Injectable } from '@nestjs/common';
import { Summary } from 'prom-client';
import { EXECUTION_STATUSES, ExecutionStatus } from '@brain-net/store';
import { ExecutionEvents } from './execution-events';

/**
 * The p95's sliding window: about the last ten minutes of run times, forgotten two
 * minutes at a time (the Summary drops the oldest of its five age buckets).
 */
const RUN_TIME_WINDOW_S = 600;
const RUN_TIME_AGE_BUCKETS = 5;
const RUN_TIMES = 'sandbox_execution_run_ms';
const P95 = 0.95;

export interface ExecutionStatisticsSnapshot {
  readonly totals: Record<ExecutionStatus, number>;
  /** Mean run time (container start to end) of every finished execution since start. */
  readonly meanExecutionMs: number | null;
  /** 95th percentile of the run times in the RUN_TIME_WINDOW_S up to the last one. */
  readonly p95ExecutionMs: number | null;
}

/**
 * Counts of finished executions by status since start, and their run times in a
 * prom-client Summary. Registered nowhere: /metrics has the run times as a histogram
 * (sandbox_execution_duration_seconds), which, unlike quantiles, adds up across instances.
 */
export class ExecutionTally {
  private readonly totals = Object.fromEntries(EXECUTION_STATUSES.map((s) => [s, 0])) as Record<
    ExecutionStatus,
    number
  >;
  private readonly runTimes = new Summary({
    name: RUN_TIMES,
    help: 'Container start to end of each finished execution, ms',
    percentiles: [P95],
    maxAgeSeconds: RUN_TIME_WINDOW_S,
    ageBuckets: RUN_TIME_AGE_BUCKETS,
    registers: [],
  });
  private meanExecutionMs: number | null = null;
  private p95ExecutionMs: number | null = null;

  /**
   * Counts the execution at once; its run time reaches the figures once the Summary has
   * answered (its get() is asynchronous), which the returned promise waits for.
   */
  async record(status: ExecutionStatus, durationMs: number | null): Promise<void> {
    this.totals[status] += 1;
    if (durationMs === null) return;
    this.runTimes.observe(durationMs);
    // Read right after an observation, the window is never empty (prom-client would
    // report an empty one as 0); between executions the figures stand, as the last
    // ones seen.
    const { values } = await this.runTimes.get();
    const sum = values.find((v) => v.metricName === `${RUN_TIMES}_sum`)?.value;
    const count = values.find((v) => v.metricName === `${RUN_TIMES}_count`)?.value;
    // The Summary's sum and count run since start: its window holds the quantiles only.
    this.meanExecutionMs = sum !== undefined && count ? sum / count : null;
    this.p95ExecutionMs = values.find((v) => v.labels.quantile === P95)?.value ?? null;
  }

  snapshot(): ExecutionStatisticsSnapshot {
    return {
      totals: { ...this.totals },
      meanExecutionMs: this.meanExecutionMs,
      p95ExecutionMs: this.p95ExecutionMs,
    };
  }
}

/** Keeps an ExecutionTally fed from the execution events. */
@Injectable()
export class ExecutionStatistics {
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
      // The Summary's get() cannot fail: nothing to catch.
      void this.tally.record(record.status, runMs);
    });
  }

  snapshot(): ExecutionStatisticsSnapshot {
    return this.tally.snapshot();
  }

  /** At shutdown (ServiceLifecycle), once the executions drained: the last jobs still count. */
  stop(): void {
    this.unsubscribe();
  }
}
