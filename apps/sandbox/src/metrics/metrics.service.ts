import { Injectable } from '@nestjs/common';
import type { Request, RequestHandler } from 'express';
import promBundle from 'express-prom-bundle';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AppConfig } from '../config/app-config';
import { ExecutionEvents } from '../execution/execution-events';
import { ExecutionService } from '../execution/execution.service';
import { routeLabel } from './http-route';

export type AdjustmentDeliveryOutcome = 'delivered' | 'rejected' | 'retryable' | 'failed';

/** Scrapes of this route are not counted: they would only measure themselves. */
const SCRAPE_ROUTE = '/metrics';
/** From a health probe to `?wait=true` runs and event streams that last minutes. */
const HTTP_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/** Prometheus metrics of this instance, in a registry of its own. */
@Injectable()
export class MetricsService {
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
  /** Each finished request's route label, worked out once (for the bypass and the label). */
  private readonly routes = new WeakMap<Request, string>();
  /**
   * Express middleware timing every HTTP request into `sandbox_http_request_duration_seconds`
   * by method, route template and status code; configureApp installs it first.
   */
  readonly httpMiddleware: RequestHandler = promBundle({
    promRegistry: this.registry,
    httpDurationMetricName: 'sandbox_http_request_duration_seconds',
    buckets: HTTP_DURATION_BUCKETS,
    // This service serves /metrics itself (MetricsController, with its access rule).
    autoregister: false,
    includeUp: false,
    includeMethod: true,
    includeStatusCode: true,
    // Not the bundle's `path` label (the URL with ids guessed away): the route template.
    includePath: false,
    customLabels: { route: '' },
    transformLabels: (labels, req) => {
      labels.route = this.routeOf(req);
    },
    bypass: { onFinish: (req) => this.routeOf(req) === SCRAPE_ROUTE },
  });

  constructor(events: ExecutionEvents, executions: ExecutionService, config: AppConfig) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'sandbox_queue_depth',
      help: 'Executions waiting for a slot (in cluster mode: in the whole cluster queue)',
      registers: [this.registry],
      async collect() {
        // Redis away: the gauge keeps its last value rather than failing the scrape.
        const load = await executions.load().catch(() => null);
        if (load) this.set(load.waiting);
      },
    });
    new Gauge({
      name: 'sandbox_running_executions',
      help: 'Executions running now on this instance',
      registers: [this.registry],
      collect() {
        this.set(executions.runningCount);
      },
    });
    if (config.auth.metricsByTenant) this.registerTenantGauges(executions);
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

  /** At shutdown (ServiceLifecycle), once the executions drained: the last jobs still count. */
  stop(): void {
    this.unsubscribe();
  }

  /** Per-tenant gauges: on a service with tenants, only for a /metrics admins alone read. */
  private registerTenantGauges(executions: ExecutionService): void {
    new Gauge({
      name: 'sandbox_tenant_running_executions',
      help: 'Executions running now, by tenant (tenants with executions running or waiting)',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const load of executions.tenantLoads) this.set({ tenant: load.tenant }, load.running);
      },
    });
    new Gauge({
      name: 'sandbox_tenant_queue_depth',
      help: 'Executions waiting for a slot, by tenant (tenants with executions running or waiting)',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const load of executions.tenantLoads) this.set({ tenant: load.tenant }, load.queued);
      },
    });
  }

  private routeOf(req: Request): string {
    let route = this.routes.get(req);
    if (route === undefined) {
      route = routeLabel(req);
      this.routes.set(req, route);
    }
    return route;
  }
}
