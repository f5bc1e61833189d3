import { SqliteDatabase } from '@brain-net/store';
import { startSandboxApp, waitForStatus } from '../support/sandbox-app';

describe('A store that stops taking writes', () => {
  it('answers 503 to new work, keeps finishing the running job, and turns readiness red', async () => {
    const sandbox = await startSandboxApp();
    try {
      const running = await sandbox.http
        .post('/execute')
        .send({ code: 'import time\nprint("started", flush=True)\ntime.sleep(1)\nprint("done")' })
        .expect(202);
      const id = (running.body as { execution_id: string }).execution_id;
      await waitForStatus(sandbox.http, id, (status) => status === 'running');

      // What a full disk or a lost volume looks like to the service: every write fails.
      sandbox.app.get(SqliteDatabase, { strict: false }).connection.close();

      const refused = await sandbox.http.post('/execute').send({ code: 'print(1)' }).expect(503);
      expect(refused.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(refused.headers['retry-after']).toBeDefined();
      await sandbox.http.get('/executions').expect(503);

      // The job that was running still ends, and its result is still answered.
      const finished = await waitForStatus(sandbox.http, id, (status) => status !== 'running');
      expect(finished).toMatchObject({ status: 'completed', output: 'started\ndone\n' });
      const ready = await sandbox.http.get('/health/ready').expect(503);
      expect((ready.body as { details: Record<string, unknown> }).details.store).toMatchObject({
        status: 'down',
      });
      await sandbox.http.get('/health/live').expect(200);
    } finally {
      await sandbox.close();
    }
  });
});
