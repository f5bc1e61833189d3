import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyEntry } from '../support/api-keys';
import {
  ScriptedSandboxApp,
  run,
  startScriptedSandboxApp,
  startSleeper,
} from '../support/sandbox-app';
import { untilCancelled } from '../support/scripted-runs';

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: {
    schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
  };
}

/** One sample of the Prometheus text format. */
interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of one metric (a histogram's `_count`, say) in a Prometheus text exposition. */
function samplesOf(exposition: string, name: string): Sample[] {
  return exposition.split('\n').flatMap((line) => {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) return [];
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [
        key,
        value,
      ]),
    );
    return [{ labels, value: Number(match[3]) }];
  });
}

const HTTP_COUNT = 'sandbox_http_request_duration_seconds_count';

/** Requests counted under exactly this method, route and status. */
function requestsCounted(
  exposition: string,
  method: string,
  route: string,
  status: number,
): number {
  const sample = samplesOf(exposition, HTTP_COUNT).find(
    ({ labels }) =>
      labels.method === method && labels.route === route && labels.status_code === String(status),
  );
  return sample?.value ?? 0;
}

describe('OpenAPI documentation and Prometheus metrics', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp();
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await sandbox.http.get('/docs').expect(200);
    expect(response.text).toContain('swagger-ui');
  });

  it('documents every endpoint with its error responses', async () => {
    const document = (await sandbox.http.get('/docs-json').expect(200)).body as OpenApiDocument;
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'GET /',
        'POST /execute',
        'GET /execution/{id}',
        'DELETE /execution/{id}',
        'GET /executions',
        'GET /execution/{id}/stream',
        'GET /debug/{id}',
        'GET /health',
        'GET /health/live',
        'GET /health/ready',
        'GET /metrics',
        'POST /adjust-processor',
        'GET /adjustments/{id}',
        'GET /adjustments',
      ]),
    );
    expect(Object.keys(document.paths['/execute'].post.responses).sort()).toEqual(
      // 401 and 403: authentication (AUTH_MODE other than none); 404 and 502: processor_id.
      [
        '200',
        '202',
        '400',
        '401',
        '403',
        '404',
        '413',
        '415',
        '422',
        '429',
        '500',
        '502',
        '503',
      ].sort(),
    );
    expect(Object.keys(document.paths['/execution/{id}'].delete.responses)).toEqual(
      expect.arrayContaining(['200', '404', '409']),
    );
    expect(Object.keys(document.paths['/adjust-processor'].post.responses)).toEqual(
      expect.arrayContaining(['202', '400', '413']),
    );
    expect(Object.keys(document.paths['/health/ready'].get.responses)).toEqual(
      expect.arrayContaining(['200', '503']),
    );
  });

  it('describes the request and result schemas field by field', async () => {
    const { components } = (await sandbox.http.get('/docs-json').expect(200))
      .body as OpenApiDocument;
    const request = components.schemas.ExecuteRequestDto;
    expect(Object.keys(request.properties ?? {}).sort()).toEqual(
      [
        'code',
        'debug_mode',
        'input_data',
        'processor_id',
        'timeout',
        'stdin',
        'memory_mb',
        'cpus',
        'pids',
        'files',
        'callback_url',
        'runtime',
        'profile',
      ].sort(),
    );
    // Each limit documents its range and the setting that bounds it.
    expect(request.properties).toMatchObject({
      stdin: { type: 'string', description: expect.stringContaining('MAX_STDIN_BYTES') as string },
      memory_mb: { type: 'integer', minimum: 16 },
      cpus: { type: 'number', minimum: 0.01 },
      pids: { type: 'integer', minimum: 8 },
      files: { type: 'array', description: expect.stringContaining('MAX_INPUT_FILES') as string },
      callback_url: { type: 'string', maxLength: 2048 },
      runtime: { type: 'string', maxLength: 64 },
    });
    for (const [field, setting] of [
      ['memory_mb', 'MAX_MEMORY_MB'],
      ['cpus', 'MAX_CPUS'],
      ['pids', 'MAX_PIDS'],
    ]) {
      expect(request.properties?.[field]).toMatchObject({
        description: expect.stringContaining(setting) as string,
      });
    }
    // code or processor_id: neither is required on its own.
    expect(request.required ?? []).toEqual([]);
    expect(Object.keys(components.schemas.ExecutionResultDto.properties ?? {})).toEqual(
      expect.arrayContaining([
        'execution_id',
        'status',
        'output',
        'stderr',
        'error',
        'exit_code',
        'debug_info',
      ]),
    );
    expect(components.schemas.ProblemDetailsDto?.properties).toHaveProperty('request_id');
  });

  it('documents the adjustment, debug and health schemas', async () => {
    const { components } = (await sandbox.http.get('/docs-json').expect(200))
      .body as OpenApiDocument;
    expect(Object.keys(components.schemas)).toEqual(
      expect.arrayContaining([
        'AdjustProcessorRequestDto',
        'AdjustmentDto',
        'DebugRecordDto',
        'HealthDto',
      ]),
    );
  });

  it('exposes execution counts, durations, container start latency and queue gauges', async () => {
    await run(sandbox.http, { code: 'print("counted")' });
    const response = await sandbox.http.get('/metrics').expect(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.text).toMatch(/^sandbox_executions_total\{status="completed"\} 1$/m);
    expect(response.text).toMatch(/^sandbox_execution_duration_seconds_count 1$/m);
    expect(response.text).toMatch(/^sandbox_container_start_seconds_count 1$/m);
    expect(response.text).toMatch(/^sandbox_queue_depth 0$/m);
    expect(response.text).toMatch(/^sandbox_running_executions 0$/m);
  });

  async function scrape(): Promise<string> {
    return (await sandbox.http.get('/metrics').expect(200)).text;
  }

  it('times HTTP requests by method, route template and status code', async () => {
    const before = await scrape();
    await sandbox.http.get(`/execution/${randomUUID()}`).expect(404);
    await sandbox.http.get(`/execution/${randomUUID()}`).expect(404);
    await sandbox.http.get('/health/live').expect(200);
    // Refused by the body parser before any route runs: still counted under /execute.
    await sandbox.http
      .post('/execute')
      .set('content-type', 'application/json')
      .send('{"code": ')
      .expect(400);
    const after = await scrape();

    const added = (method: string, route: string, status: number): number =>
      requestsCounted(after, method, route, status) -
      requestsCounted(before, method, route, status);
    expect(after).toContain('# TYPE sandbox_http_request_duration_seconds histogram');
    expect(added('GET', '/execution/:id', 404)).toBe(2);
    expect(added('GET', '/health/live', 200)).toBe(1);
    expect(added('POST', '/execute', 400)).toBe(1);
    // Scrapes are left out: they would only measure themselves.
    expect(after).not.toMatch(/route="\/metrics"/);
    // Never a raw path with an id in it.
    expect(after).not.toMatch(/route="[^"]*[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it('keeps one route label for any number of unknown paths', async () => {
    const routesOf = (exposition: string): Set<string> =>
      new Set(samplesOf(exposition, HTTP_COUNT).map(({ labels }) => labels.route));
    const before = await scrape();
    for (let i = 0; i < 200; i += 1) {
      await sandbox.http.get(`/${randomUUID()}/${i}?x=${randomUUID()}`).expect(404);
    }
    const after = await scrape();

    expect(
      requestsCounted(after, 'GET', '#unmatched', 404) -
        requestsCounted(before, 'GET', '#unmatched', 404),
    ).toBe(200);
    expect([...routesOf(after)].filter((route) => !routesOf(before).has(route))).toEqual(
      routesOf(before).has('#unmatched') ? [] : ['#unmatched'],
    );
  });

  it("reports each busy tenant's running and queued executions", async () => {
    const id = await startSleeper(sandbox.http);
    const busy = await scrape();
    expect(busy).toMatch(/^sandbox_tenant_running_executions\{tenant="default"\} 1$/m);
    expect(busy).toMatch(/^sandbox_tenant_queue_depth\{tenant="default"\} 0$/m);

    await sandbox.http.delete(`/execution/${id}`).expect(200);
    // A tenant with nothing running or waiting leaves no series behind.
    expect(await scrape()).not.toMatch(/^sandbox_tenant_/m);
  });
});

/** api-key mode: a runner of tenant `tenant-secret` and an admin, by key `<name>-key`. */
describe('Prometheus metrics once authentication is on', () => {
  let dir: string;
  let keyFile: string;
  let sandbox: ScriptedSandboxApp | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-metrics-'));
    keyFile = join(dir, 'keys.json');
    const key = (name: string, scopes: string[]) =>
      keyEntry(name, `${name}-key`, 'tenant-secret', scopes);
    writeFileSync(
      keyFile,
      JSON.stringify([key('runner', ['execute', 'read']), key('admin', ['admin'])]),
    );
  });

  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('needs the admin scope for /metrics unless AUTH_PROTECT_METRICS says otherwise', async () => {
    sandbox = await startScriptedSandboxApp({ AUTH_MODE: 'api-key', API_KEYS_FILE: keyFile });
    expect((await sandbox.http.get('/metrics')).status).toBe(401);
    expect((await sandbox.http.get('/metrics').set('X-API-Key', 'runner-key')).status).toBe(403);
    await sandbox.http.get('/metrics').set('X-API-Key', 'admin-key').expect(200);
  });

  it('leaves the per-tenant series out of a /metrics opened with AUTH_PROTECT_METRICS=false', async () => {
    sandbox = await startScriptedSandboxApp({
      AUTH_MODE: 'api-key',
      API_KEYS_FILE: keyFile,
      AUTH_PROTECT_METRICS: 'false',
    });
    const sleeper = 'import time\ntime.sleep(60)';
    sandbox.runner.script(sleeper, untilCancelled());
    const runner = sandbox.http;
    const accepted = await runner
      .post('/execute')
      .set('X-API-Key', 'runner-key')
      .send({ code: sleeper })
      .expect(202);
    const id = (accepted.body as { execution_id: string }).execution_id;
    const exposition = await eventuallyScraped(sandbox, /^sandbox_running_executions 1$/m);
    expect(exposition).not.toMatch(/^sandbox_tenant_/m);
    expect(exposition).not.toContain('tenant-secret');
    await runner.delete(`/execution/${id}`).set('X-API-Key', 'runner-key').expect(200);
  });
});

/** Scrapes the open /metrics until it matches (an execution starting, say). */
async function eventuallyScraped(sandbox: ScriptedSandboxApp, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = (await sandbox.http.get('/metrics').expect(200)).text;
    if (pattern.test(text) || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
