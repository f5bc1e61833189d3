import { StandInBackend } from './support/stand-in-backend';
import { SandboxApp, run, startSandboxApp } from './support/sandbox-app';

/** An execution that names a processor and no code runs the code the backend holds. */
describe('Processor definitions from the backend', () => {
  const backend = new StandInBackend();
  let sandbox: SandboxApp;

  beforeAll(async () => {
    await backend.start();
    sandbox = await startSandboxApp({ BACKEND_URL: backend.url, PROCESSOR_CACHE_TTL_S: '60' });
  });

  afterAll(async () => {
    await sandbox.close();
    await backend.stop();
  });

  it("runs the processor's code with the given input_data", async () => {
    backend.setProcessor('doubler', 'print(input_data["n"] * 2)');
    const result = await run(sandbox.http, { processor_id: 'doubler', input_data: { n: 21 } });
    expect(result).toMatchObject({ status: 'completed', output: '42\n', processor_id: 'doubler' });
  });

  it('reuses a fetched definition while it is fresh', async () => {
    backend.setProcessor('greeter', 'print("v1")');
    expect((await run(sandbox.http, { processor_id: 'greeter' })).output).toBe('v1\n');
    backend.setProcessor('greeter', 'print("v2")');
    expect((await run(sandbox.http, { processor_id: 'greeter' })).output).toBe('v1\n');
  });

  it('runs the given code when both code and processor_id are sent', async () => {
    backend.setProcessor('ignored', 'print("backend code")');
    const result = await run(sandbox.http, { processor_id: 'ignored', code: 'print("mine")' });
    expect(result.output).toBe('mine\n');
  });

  it('answers 404 for a processor the backend does not know', async () => {
    const response = await sandbox.http
      .post('/execute')
      .send({ processor_id: 'no-such-processor' })
      .expect(404);
    expect(response.body).toMatchObject({ code: 'PROCESSOR_NOT_FOUND' });
    expect((response.body as { detail: string }).detail).toContain('no-such-processor');
  });

  it('answers 400 when neither code nor processor_id is given', async () => {
    const response = await sandbox.http.post('/execute').send({ input_data: {} }).expect(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('answers 502 when the backend is unreachable, and records nothing', async () => {
    const before = (await sandbox.http.get('/executions').expect(200)).body as { total: number };
    await backend.stop();
    try {
      const response = await sandbox.http
        .post('/execute')
        .send({ processor_id: 'never-fetched' })
        .expect(502);
      expect(response.body).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
      expect((response.body as { detail: string }).detail).toContain(backend.url);
    } finally {
      await backend.start();
    }
    const after = (await sandbox.http.get('/executions').expect(200)).body as { total: number };
    expect(after.total).toBe(before.total);
  });
});

describe('Processor definitions without a cache (PROCESSOR_CACHE_TTL_S=0)', () => {
  const backend = new StandInBackend();
  let sandbox: SandboxApp;

  beforeAll(async () => {
    await backend.start();
    sandbox = await startSandboxApp({ BACKEND_URL: backend.url, PROCESSOR_CACHE_TTL_S: '0' });
  });

  afterAll(async () => {
    await sandbox.close();
    await backend.stop();
  });

  it('fetches the definition every time', async () => {
    backend.setProcessor('fresh', 'print("v1")');
    expect((await run(sandbox.http, { processor_id: 'fresh' })).output).toBe('v1\n');
    backend.setProcessor('fresh', 'print("v2")');
    expect((await run(sandbox.http, { processor_id: 'fresh' })).output).toBe('v2\n');
  });
});
