import { StandInBackend } from '@brain-net/backend-client/testing/stand-in-backend';
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
});
