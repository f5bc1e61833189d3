import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { ScriptedSandboxApp, run, startScriptedSandboxApp } from '../support/sandbox-app';

describe('Executions over HTTP (scripted runner)', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp();
  });

  afterAll(() => sandbox.close());

  it('lists executions newest first, paginated', async () => {
    const first = await run(sandbox.http, { code: 'pass' });
    const second = await run(sandbox.http, { code: 'pass' });
    const page = await sandbox.http.get('/executions?page=1&limit=2').expect(200);
    const body = page.body as {
      items: ExecutionResultDto[];
      total: number;
      page: number;
      limit: number;
    };
    expect(body.items.map((item) => item.execution_id)).toEqual([
      second.execution_id,
      first.execution_id,
    ]);
    expect(body.total).toBeGreaterThanOrEqual(2);
    expect(body).toMatchObject({ page: 1, limit: 2 });

    const next = await sandbox.http.get('/executions?page=2&limit=2').expect(200);
    const nextIds = (next.body as { items: ExecutionResultDto[] }).items.map((i) => i.execution_id);
    expect(nextIds).not.toContain(second.execution_id);
  });

  it('answers 404 for an unknown execution', async () => {
    const response = await sandbox.http
      .get('/execution/9b2f6a3e-0000-4000-8000-000000000000')
      .expect(404);
    expect(response.body).toMatchObject({ code: 'EXECUTION_NOT_FOUND', status: 404 });
    await sandbox.http.delete('/execution/not-an-id').expect(404);
  });
});
