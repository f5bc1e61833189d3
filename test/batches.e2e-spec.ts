import type { BatchDto } from '../apps/sandbox/src/batch/dto/batch.dto';
import { SandboxApp, startSandboxApp } from './support/sandbox-app';

describe('Batches (real Docker engine)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({ MAX_CONCURRENT_EXECUTIONS: '2' });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('runs a batch of 20 inputs and returns the results in order, failures where they were', async () => {
    const inputs = Array.from({ length: 20 }, (_, n) => ({ input_data: { n } }));
    const response = await sandbox.http
      .post('/executions/batch?wait=true')
      .send({ code: 'n = input_data["n"]\nassert n != 13, "unlucky"\nprint(n * n)', inputs })
      .expect(200);
    const batch = response.body as BatchDto;
    expect(batch).toMatchObject({
      status: 'finished',
      total: 20,
      counts: { completed: 19, failed: 1 },
    });
    expect(batch.items.map((item) => item.output)).toEqual(
      Array.from({ length: 20 }, (_, n) => (n === 13 ? '' : `${n * n}\n`)),
    );
    expect(batch.items[13]).toMatchObject({
      status: 'failed',
      error: 'AssertionError: unlucky (line 2)',
      batch_index: 13,
    });
    await sandbox.containersSettle();
  });
});
