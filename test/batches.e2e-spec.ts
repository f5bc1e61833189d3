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

  it('runs a shared-container batch in one container: a crash and a hang fail alone, the rest complete', async () => {
    const code = [
      'import os, time',
      'n = input_data["n"]',
      'if n == 3: os.abort()',
      'if n == 5: time.sleep(60)',
      'open("scratch.txt", "a").write("x")',
      'print(n, len(open("scratch.txt").read()))',
    ].join('\n');
    const inputs = Array.from({ length: 10 }, (_, n) => ({ input_data: { n } }));
    const response = await sandbox.http
      .post('/executions/batch?wait=true')
      .send({ code, inputs, shared_container: true, timeout: 2 })
      .expect(200);
    const batch = response.body as BatchDto;
    expect(batch).toMatchObject({ total: 10, counts: { completed: 8, failed: 1, timeout: 1 } });
    // Each item's working directory is its own: its scratch file starts empty.
    expect(batch.items.map((item) => item.output)).toEqual(
      Array.from({ length: 10 }, (_, n) => (n === 3 || n === 5 ? '' : `${n} 1\n`)),
    );
    expect(batch.items[3]).toMatchObject({ status: 'failed', exit_code: 134 });
    expect(batch.items[5]).toMatchObject({ status: 'timeout' });
    await sandbox.containersSettle();
  });
});
