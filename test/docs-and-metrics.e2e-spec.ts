import { SandboxApp, run, startSandboxApp } from './support/sandbox-app';

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: {
    schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
  };
}

describe('OpenAPI documentation and Prometheus metrics', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp();
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
      // 401 and 403: authentication (AUTH_MODE other than none).
      ['200', '202', '400', '401', '403', '413', '422', '429', '503'].sort(),
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
      ['code', 'debug_mode', 'input_data', 'processor_id', 'timeout'].sort(),
    );
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
});
