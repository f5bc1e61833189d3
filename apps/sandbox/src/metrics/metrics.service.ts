import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ExecutionEvents } from '../execution/execution-events';
import { ExecutionService } from '../execution/execution.service';

export type AdjustmentDeliveryOutcome = 'delivered' | 'rejected' | 'retryable' | 'failed';

/** Prometheus metrics of this instance, in a registry of its own. */
@Injectable()
export class MetricsService implements OnModuleDestroy {
  readonly registry = new Registry();
  private readonly executionsTotal = new Counter({
    name: 'sandbox_executions_total',
    help: 'Finished executions, by final status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly executionDuration = new Histogram({
    name: 'sandbox_execution_duration_seconds',
    help: 'Container start to end of each finished execution',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  private readonly containerStart = new Histogram({
    name: 'sandbox_container_start_seconds',
    help: 'Create, attach and start of each sandbox container',
    buckets: [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
  private readonly adjustmentDeliveries = new Counter({
    name: 'sandbox_adjustment_deliveries_total',
    help: 'Adjustment delivery attempts to the backend, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly unsubscribe: () => void;

  constructor(events: ExecutionEvents, executions: ExecutionService) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'sandbox_queue_depth',
      help: 'Executions waiting for a slot',
      registers: [this.registry],
      collect() {
        this.set(executions.queuedCount);
      },
    });
    new Gauge({
      name: 'sandbox_running_executions',
      help: 'Executions running now',
      registers: [this.registry],
      collect() {
        this.set(executions.runningCount);
      },
    });
    this.unsubscribe = events.subscribeAll((_id, event) => {
      if (event.type !== 'finished') return;
      const { record } = event;
      this.executionsTotal.inc({ status: record.status });
      if (record.timings && record.startedAt) {
        this.executionDuration.observe(record.timings.runMs / 1000);
        this.containerStart.observe(record.timings.containerStartMs / 1000);
      }
    });
  }

  recordAdjustmentDelivery(outcome: AdjustmentDeliveryOutcome): void {
    this.adjustmentDeliveries.inc({ outcome });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }
}
