import {
  Controller,
  Get,
  Head,
  MiddlewareConsumer,
  Module,
  NestModule,
  NotFoundException,
  Param,
  Post,
  RequestMethod,
} from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { NextFunction, Request, Response } from 'express';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { loadConfig } from '../config/app-config';
import { ExecutionEvents } from '../execution/execution-events';
import type { ExecutionService } from '../execution/execution.service';
import { UNMATCHED_ROUTE } from './http-route';
import type { TenantLoad } from '../execution/in-process-execution-queue';
import { MetricsService } from './metrics.service';

const HTTP_METRIC = 'sandbox_http_request_duration_seconds';

@Controller()
class ItemsController {
  @Get('items/:id')
  item(@Param('id') id: string): { id: string } {
    if (id === 'missing') throw new NotFoundException();
    return { id };
  }

  @Post('items')
  create(): void {}

  @Head('ping')
  ping(): void {}

  @Get('metrics')
  scrape(): string {
    return 'scraped';
  }

  @Get('health/live')
  live(): void {}
}

/** Middleware on every path, as nestjs-pino's logger: Nest mounts it as a route per method. */
@Module({ controllers: [ItemsController] })
class ItemsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply((_req: Request, _res: Response, next: NextFunction) => next())
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}

/** Refuses, before any route, every request that asks to be: as authentication or a body limit does. */
function refuseOnDemand(req: Request, res: Response, next: NextFunction): void {
  if (req.headers['x-refuse'] === undefined) return next();
  res.status(413).end();
}

interface Series {
  readonly labels: Partial<Record<string, string | number>>;
  readonly value: number;
}

describe('MetricsService', () => {
  let app: NestExpressApplication;
  let http: TestAgent;
  let metrics: MetricsService;
  let tenantLoads: TenantLoad[] = [];

  beforeAll(async () => {
    const executions = {
      runningCount: 0,
      load: () => Promise.resolve({ waiting: 0, running: 0 }),
      get tenantLoads(): TenantLoad[] {
        return tenantLoads;
      },
    };
    metrics = new MetricsService(
      new ExecutionEvents(),
      executions as unknown as ExecutionService,
      loadConfig({}),
    );
    const moduleRef = await Test.createTestingModule({ imports: [ItemsModule] }).compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
    app.use(metrics.httpMiddleware);
    app.use(refuseOnDemand);
    await app.init();
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    metrics.stop();
    await app.close();
  });

  beforeEach(() => {
    metrics.registry.resetMetrics();
    tenantLoads = [];
  });

  async function series(name: string): Promise<Series[]> {
    const metric = metrics.registry.getSingleMetric(name);
    if (!metric) throw new Error(`no metric ${name}`);
    return (await metric.get()).values.map(({ labels, value }) => ({ labels, value }));
  }

  /** The request counts of the HTTP histogram, one per label set. */
  async function requestCounts(): Promise<Series[]> {
    const metric = metrics.registry.getSingleMetric(HTTP_METRIC);
    if (!metric) throw new Error(`no metric ${HTTP_METRIC}`);
    return (await metric.get()).values
      .filter((s) => (s as { metricName?: string }).metricName === `${HTTP_METRIC}_count`)
      .map(({ labels, value }) => ({ labels, value }));
  }

  async function requestCount(labels: Record<string, string | number>): Promise<number> {
    const count = (await requestCounts()).find(
      (s) =>
        Object.entries(labels).every(([key, value]) => s.labels[key] === value) &&
        Object.keys(s.labels).length === Object.keys(labels).length,
    );
    return count?.value ?? 0;
  }

  it('times requests by method, route template and status code', async () => {
    await http.get('/items/1').expect(200);
    await http.get('/items/2').expect(200);
    await http.get('/items/missing').expect(404);
    await http.post('/items').expect(201);
    await http.head('/ping').expect(200);

    expect(await requestCount({ method: 'GET', route: '/items/:id', status_code: 200 })).toBe(2);
    expect(await requestCount({ method: 'GET', route: '/items/:id', status_code: 404 })).toBe(1);
    expect(await requestCount({ method: 'POST', route: '/items', status_code: 201 })).toBe(1);
    expect(await requestCount({ method: 'HEAD', route: '/ping', status_code: 200 })).toBe(1);
  });

  it('names its histogram, buckets and labels for Prometheus', async () => {
    await http.get('/items/1').expect(200);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`# TYPE ${HTTP_METRIC} histogram`);
    expect(text).toMatch(
      new RegExp(
        `^${HTTP_METRIC}_bucket\\{le="0\\.005",status_code="200",method="GET",route="/items/:id"\\} \\d+$`,
        'm',
      ),
    );
    expect(text).toMatch(/^sandbox_http_request_duration_seconds_bucket\{le="300",/m);
    // The bundle's own extras stay out.
    expect(text).not.toMatch(/^up /m);
  });

  it('collapses 200 distinct unknown paths into one route label', async () => {
    for (let i = 0; i < 200; i += 1) {
      const noise = Math.random().toString(36).slice(2);
      await http.get(`/${noise}/${i}?q=${noise}`).expect(404);
    }
    const counts = await requestCounts();
    expect(counts).toEqual([
      { labels: { method: 'GET', route: UNMATCHED_ROUTE, status_code: 404 }, value: 200 },
    ]);
  });

  it('keeps a stray method on a known path unmatched', async () => {
    await http.delete('/items/1').expect(404);
    await http.put('/items').expect(404);
    expect(new Set((await requestCounts()).map((s) => s.labels.route))).toEqual(
      new Set([UNMATCHED_ROUTE]),
    );
  });

  it('labels a request refused before routing with the route it was sent to', async () => {
    await http.post('/items').set('x-refuse', '1').expect(413);
    await http.get('/items/42').set('x-refuse', '1').expect(413);
    await http.head('/items/42').set('x-refuse', '1').expect(413);
    await http.post('/nowhere/42').set('x-refuse', '1').expect(413);

    expect(await requestCount({ method: 'POST', route: '/items', status_code: 413 })).toBe(1);
    expect(await requestCount({ method: 'GET', route: '/items/:id', status_code: 413 })).toBe(1);
    expect(await requestCount({ method: 'HEAD', route: '/items/:id', status_code: 413 })).toBe(1);
    expect(await requestCount({ method: 'POST', route: UNMATCHED_ROUTE, status_code: 413 })).toBe(
      1,
    );
  });

  it('survives a path that cannot be decoded', async () => {
    await http.get('/items/%E0%A4%A').set('x-refuse', '1').expect(413);
    await http.get('/items/%E0%A4%A').expect(400);
    expect(new Set((await requestCounts()).map((s) => s.labels.route))).toEqual(
      new Set([UNMATCHED_ROUTE]),
    );
  });

  it('leaves scrapes out and counts health probes', async () => {
    await http.get('/metrics').expect(200);
    await http.get('/metrics?format=text').expect(200);
    await http.get('/metrics').set('x-refuse', '1').expect(413);
    await http.get('/health/live').expect(200);
    expect(await requestCounts()).toEqual([
      { labels: { method: 'GET', route: '/health/live', status_code: 200 }, value: 1 },
    ]);
  });

  it("reports each busy tenant's running and queued executions at scrape time", async () => {
    expect(await series('sandbox_tenant_running_executions')).toEqual([]);
    tenantLoads = [
      { tenant: 'alpha', running: 2, queued: 5 },
      { tenant: 'beta', running: 1, queued: 0 },
    ];
    expect(await series('sandbox_tenant_running_executions')).toEqual([
      { labels: { tenant: 'alpha' }, value: 2 },
      { labels: { tenant: 'beta' }, value: 1 },
    ]);
    expect(await series('sandbox_tenant_queue_depth')).toEqual([
      { labels: { tenant: 'alpha' }, value: 5 },
      { labels: { tenant: 'beta' }, value: 0 },
    ]);

    // A tenant with nothing left to run leaves no series behind.
    tenantLoads = [{ tenant: 'beta', running: 1, queued: 0 }];
    expect(await series('sandbox_tenant_running_executions')).toEqual([
      { labels: { tenant: 'beta' }, value: 1 },
    ]);
    expect(await series('sandbox_tenant_queue_depth')).toEqual([
      { labels: { tenant: 'beta' }, value: 0 },
    ]);
  });

  it('leaves the per-tenant series out of a /metrics left open on a service with tenants', async () => {
    const open = new MetricsService(
      new ExecutionEvents(),
      {
        runningCount: 1,
        load: () => Promise.resolve({ waiting: 0, running: 1 }),
        tenantLoads: [{ tenant: 'alpha', running: 1, queued: 0 }],
      } as unknown as ExecutionService,
      loadConfig({
        AUTH_MODE: 'api-key',
        API_KEYS_FILE: '/etc/keys.json',
        AUTH_PROTECT_METRICS: 'false',
      }),
    );
    const text = await open.registry.metrics();
    open.stop();
    expect(text).toMatch(/^sandbox_running_executions 1$/m);
    expect(text).not.toContain('sandbox_tenant_');
    expect(text).not.toContain('alpha');
  });
});
