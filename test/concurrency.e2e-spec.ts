import type { ExecutionResultDto } from '../apps/sandbox/src/execution/dto/execution-result.dto';
import { SandboxApp, startSandboxApp, waitForStatus } from './support/sandbox-app';

const SLEEPER = 'import time\ntime.sleep(2)';

/** MAX_CONCURRENT_EXECUTIONS run at once, the rest wait in FIFO order, a full queue says 429. */
describe('Concurrency cap and queue (MAX_CONCURRENT_EXECUTIONS=2, MAX_QUEUED_EXECUTIONS=2)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({ MAX_CONCURRENT_EXECUTIONS: '2', MAX_QUEUED_EXECUTIONS: '2' });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  async function submit(code: string): Promise<string> {
    const response = await sandbox.http.post('/execute').send({ code }).expect(202);
    return (response.body as { execution_id: string }).execution_id;
  }

  it('runs two at once, queues two in order, refuses the fifth with Retry-After', async () => {
    // Slots free up at distinct moments (after 1 s, then 3 s), so the order the queued
    // two start in is the order the scheduler picked them.
    const ids = [];
    for (const seconds of [1, 3, 1, 1])
      ids.push(await submit(`import time\ntime.sleep(${seconds})`));

    const refused = await sandbox.http.post('/execute').send({ code: SLEEPER }).expect(429);
    expect(refused.body).toMatchObject({ code: 'QUEUE_FULL' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    // Sample the statuses until all finish: never more than two running.
    let maxRunning = 0;
    let results: ExecutionResultDto[] = [];
    for (;;) {
      results = await Promise.all(
        ids.map(
          async (id) => (await sandbox.http.get(`/execution/${id}`)).body as ExecutionResultDto,
        ),
      );
      maxRunning = Math.max(maxRunning, results.filter((r) => r.status === 'running').length);
      if (results.every((r) => r.status === 'completed')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(maxRunning).toBe(2);

    const starts = results.map((r) => Date.parse(r.start_time ?? ''));
    // The queued two started after a running one ended, and in the order they came.
    expect(starts[2]).toBeGreaterThanOrEqual(
      Math.min(...results.slice(0, 2).map((r) => Date.parse(r.end_time ?? ''))),
    );
    expect(starts[2]).toBeLessThan(starts[3]);
  });

  it('cancels a queued execution without ever starting it', async () => {
    const running = [await submit(SLEEPER), await submit(SLEEPER)];
    const queued = await submit('print("never")');
    const cancelled = await sandbox.http.delete(`/execution/${queued}`).expect(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', start_time: null, output: '' });

    for (const id of running) await waitForStatus(sandbox.http, id, (s) => s === 'completed');
    const after = await sandbox.http.get(`/execution/${queued}`).expect(200);
    expect(after.body).toMatchObject({ status: 'cancelled', output: '' });
  });
});
