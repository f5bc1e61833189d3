import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { ScriptedSandboxApp, run, startScriptedSandboxApp } from '../support/sandbox-app';

interface Problem {
  status: number;
  code: string;
  detail: string;
  request_id: string;
  errors?: { field: string; messages: string[] }[];
}

/** Bad input gets a 4xx JSON problem that says what is wrong; never a 5xx, never a run. */
describe('Input validation', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp({
      MAX_CODE_BYTES: '2048',
      MAX_REQUEST_BYTES: '65536',
      MAX_STDIN_BYTES: '1024',
    });
  });

  afterAll(() => sandbox.close());

  const cases: [string, Record<string, unknown>, string][] = [
    ['an unknown field', { code: 'pass', evil: true }, 'evil'],
    ['a missing code', { timeout: 5 }, 'code'],
    ['code that is not a string', { code: 42 }, 'code'],
    ['an empty code', { code: '' }, 'code'],
    ['a timeout given as a string', { code: 'pass', timeout: '30' }, 'timeout'],
    ['a zero timeout', { code: 'pass', timeout: 0 }, 'timeout'],
    ['a fractional timeout', { code: 'pass', timeout: 1.5 }, 'timeout'],
    ['a timeout above MAX_TIMEOUT', { code: 'pass', timeout: 301 }, 'timeout'],
    ['debug_mode that is not a boolean', { code: 'pass', debug_mode: 'yes' }, 'debug_mode'],
    ['input_data that is not an object', { code: 'pass', input_data: [1, 2] }, 'input_data'],
    ['a processor_id with odd characters', { code: 'pass', processor_id: 'a b/c' }, 'processor_id'],
    ['stdin that is not a string', { code: 'pass', stdin: ['a', 'b'] }, 'stdin'],
    ['a memory_mb given as a string', { code: 'pass', memory_mb: '64' }, 'memory_mb'],
    ['a fractional memory_mb', { code: 'pass', memory_mb: 64.5 }, 'memory_mb'],
    ['a negative memory_mb', { code: 'pass', memory_mb: -64 }, 'memory_mb'],
    ['a memory_mb below 16', { code: 'pass', memory_mb: 15 }, 'memory_mb'],
    ['a memory_mb above MAX_MEMORY_MB', { code: 'pass', memory_mb: 1025 }, 'memory_mb'],
    ['a memory_mb of 1e308', { code: 'pass', memory_mb: 1e308 }, 'memory_mb'],
    ['cpus given as a string', { code: 'pass', cpus: '2' }, 'cpus'],
    ['zero cpus', { code: 'pass', cpus: 0 }, 'cpus'],
    ['negative cpus', { code: 'pass', cpus: -1 }, 'cpus'],
    ['cpus above MAX_CPUS', { code: 'pass', cpus: 2.5 }, 'cpus'],
    ['a fractional pids', { code: 'pass', pids: 8.5 }, 'pids'],
    ['pids below 8', { code: 'pass', pids: 7 }, 'pids'],
    ['pids above MAX_PIDS', { code: 'pass', pids: 1_000_000_000 }, 'pids'],
  ];

  it.each(cases)('rejects %s with 400 naming the field', async (_name, body, field) => {
    const response = await sandbox.http.post('/execute').send(body).expect(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const problem = response.body as Problem;
    expect(problem.status).toBe(400);
    expect(problem.request_id).toBeTruthy();
    expect(problem.errors?.map((e) => e.field)).toContain(field);
  });

  it.each([
    ['an array', '[{"code": "pass"}]'],
    ['a string', '"print(1)"'],
    ['null', 'null'],
  ])('rejects a body that is %s, not an object, with 400, unparsed', async (_name, body) => {
    const response = await sandbox.http
      .post('/execute')
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(400);
    expect(response.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'body', messages: ['must be a JSON object'] }],
    });
  });

  it('rejects malformed JSON with 400', async () => {
    const response = await sandbox.http
      .post('/execute')
      .set('Content-Type', 'application/json')
      .send('{"code": "print(1)",')
      .expect(400);
    expect(response.body).toMatchObject({ code: 'MALFORMED_JSON', status: 400 });
  });

  it('rejects code over MAX_CODE_BYTES with 413', async () => {
    const response = await sandbox.http
      .post('/execute')
      .send({ code: `x = "${'a'.repeat(4000)}"` })
      .expect(413);
    expect(response.body).toMatchObject({ code: 'CODE_TOO_LARGE' });
    expect((response.body as Problem).detail).toContain('2048');
  });

  it('names the maximum a limit exceeded, and every limit that did', async () => {
    const response = await sandbox.http
      .post('/execute')
      .send({ code: 'pass', memory_mb: 4096, cpus: 3, pids: 64 })
      .expect(400);
    expect(response.body).toMatchObject({
      code: 'LIMIT_OUT_OF_RANGE',
      detail: 'memory_mb must not exceed 1024 MiB. cpus must not exceed 2 CPUs.',
      errors: [
        { field: 'memory_mb', messages: ['memory_mb must not exceed 1024'] },
        { field: 'cpus', messages: ['cpus must not exceed 2'] },
      ],
    });
  });

  it('rejects numbers JSON reads as infinite, and ones past 2**53, with 400', async () => {
    for (const [field, text] of [
      ['memory_mb', '1e400'],
      ['cpus', '-1e400'],
      ['pids', '123456789012345678901234567890'],
    ]) {
      const response = await sandbox.http
        .post('/execute')
        .set('Content-Type', 'application/json')
        .send(`{"code": "pass", "${field}": ${text}}`)
        .expect(400);
      expect((response.body as Problem).errors?.map((e) => e.field)).toContain(field);
    }
  });

  it('refuses stdin one byte over MAX_STDIN_BYTES with 413 naming stdin', async () => {
    // 1025 bytes in 513 characters: the limit counts UTF-8 bytes (stdin-and-limits takes 1024).
    const response = await sandbox.http
      .post('/execute')
      .send({ code: 'pass', stdin: 'é'.repeat(512) + '\n' })
      .expect(413);
    expect(response.body).toMatchObject({
      code: 'STDIN_TOO_LARGE',
      detail: 'stdin is 1025 bytes; the limit is 1024 bytes.',
      errors: [{ field: 'stdin', messages: ['stdin must not exceed 1024 bytes'] }],
    });
  });

  it('rejects a body over MAX_REQUEST_BYTES with 413', async () => {
    const response = await sandbox.http
      .post('/execute')
      .send({ code: 'pass', input_data: { blob: 'z'.repeat(100_000) } })
      .expect(413);
    expect(response.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('rejects a bad wait flag and bad pagination', async () => {
    await sandbox.http.post('/execute?wait=maybe').send({ code: 'pass' }).expect(400);
    await sandbox.http.get('/executions?page=0').expect(400);
    await sandbox.http.get('/executions?limit=1000').expect(400);
    await sandbox.http.get('/executions?limit=ten').expect(400);
  });

  it('echoes the caller request id and answers unknown routes with a JSON 404', async () => {
    const response = await sandbox.http
      .get('/no-such-route')
      .set('X-Request-Id', 'trace-123')
      .expect(404);
    expect(response.headers['x-request-id']).toBe('trace-123');
    expect(response.body).toMatchObject({ code: 'ROUTE_NOT_FOUND', request_id: 'trace-123' });
  });

  it('records none of the rejected requests, though it records an accepted one', async () => {
    const listing = async () =>
      (await sandbox.http.get('/executions').expect(200)).body as {
        items: ExecutionResultDto[];
        total: number;
      };
    const before = await listing();

    // Rejected here, not in the tests above, so that it holds when run alone too.
    for (const [, body] of cases) await sandbox.http.post('/execute').send(body).expect(400);
    await sandbox.http
      .post('/execute')
      .set('Content-Type', 'application/json')
      .send('{"code": "print(1)",')
      .expect(400);
    await sandbox.http.post('/execute?wait=maybe').send({ code: 'pass' }).expect(400);
    await sandbox.http
      .post('/execute')
      .send({ code: `x = "${'a'.repeat(4000)}"` })
      .expect(413);
    await sandbox.http
      .post('/execute')
      .send({ code: 'pass', input_data: { blob: 'z'.repeat(100_000) } })
      .expect(413);
    await sandbox.http
      .post('/execute')
      .send({ code: 'pass', stdin: 'x'.repeat(1025) })
      .expect(413);
    await sandbox.http.post('/execute').send({ code: 'pass', memory_mb: 4096 }).expect(400);
    // The control: the listing does show what is recorded.
    const accepted = await run(sandbox.http, { code: 'pass' });

    const after = await listing();
    expect(after.total).toBe(before.total + 1);
    expect(after.items[0]?.execution_id).toBe(accepted.execution_id);
    expect(sandbox.runner.jobs.map((job) => job.jobId)).toEqual([accepted.execution_id]);
  });
});
