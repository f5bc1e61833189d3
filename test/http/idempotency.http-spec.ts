import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { ScriptedSandboxApp, startScriptedSandboxApp } from '../support/sandbox-app';
import { scriptPrints } from '../support/scripted-runs';

interface Accepted {
  execution_id: string;
}

describe('Idempotency-Key on POST /execute', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp();
    scriptPrints(sandbox.runner, 'once');
  });
  afterAll(() => sandbox.close());

  const submit = (key: string, body: Record<string, unknown>, query = '') =>
    sandbox.http.post(`/execute${query}`).set('Idempotency-Key', key).send(body);

  it('answers a retried submit with the first execution and runs the code once', async () => {
    const body = { code: 'print("once")', input_data: { n: 1 } };
    const first = await submit('retry-1', body, '?wait=true').expect(200);
    const retried = await submit('retry-1', body, '?wait=true').expect(200);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const a = first.body as ExecutionResultDto;
    const b = retried.body as ExecutionResultDto;
    expect(b.execution_id).toBe(a.execution_id);
    expect(b.output).toBe('once\n');

    const listing = await sandbox.http.get('/executions?limit=100').expect(200);
    const ids = (listing.body as { items: { execution_id: string }[] }).items.map(
      (item) => item.execution_id,
    );
    expect(ids.filter((id) => id === a.execution_id)).toHaveLength(1);
    expect(sandbox.runner.jobs.filter((job) => job.jobId === a.execution_id)).toHaveLength(1);
  });

  it('gives twin submits sent at the same moment one execution', async () => {
    const body = { code: 'import time\ntime.sleep(0.2)\nprint("twin")' };
    const answers = await Promise.all([
      submit('twin-1', body).expect(202),
      submit('twin-1', body).expect(202),
      submit('twin-1', body).expect(202),
    ]);
    const ids = new Set(answers.map((answer) => (answer.body as Accepted).execution_id));
    expect(ids.size).toBe(1);
  });

  it('refuses the same key for a different request with 422', async () => {
    await submit('reused-1', { code: 'print(1)' }).expect(202);
    const reused = await submit('reused-1', { code: 'print(2)' }).expect(422);
    expect(reused.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('refuses a key that is not printable ASCII or is too long', async () => {
    await submit('x'.repeat(201), { code: 'print(1)' }).expect(400);
  });

  it('treats submits without a key as distinct', async () => {
    const a = await sandbox.http.post('/execute').send({ code: 'print(1)' }).expect(202);
    const b = await sandbox.http.post('/execute').send({ code: 'print(1)' }).expect(202);
    expect((a.body as Accepted).execution_id).not.toBe((b.body as Accepted).execution_id);
  });
});
