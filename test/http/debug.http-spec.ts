import { readEventStream } from '../support/event-stream';
import {
  ScriptedSandboxApp,
  run,
  startScriptedSandboxApp,
  waitForStatus,
} from '../support/sandbox-app';
import { scriptPrints } from '../support/scripted-runs';

describe('Debug records and live output over HTTP (scripted runner)', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp();
    scriptPrints(sandbox.runner, 'done');
  });

  afterAll(() => sandbox.close());

  it('answers 404 for an unknown id', async () => {
    const response = await sandbox.http.get('/debug/0e0e0e0e-0000-4000-8000-000000000000');
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ code: 'EXECUTION_NOT_FOUND' });
    await sandbox.http.get('/execution/0e0e0e0e-0000-4000-8000-000000000000/stream').expect(404);
  });

  it('replays a finished execution and ends at once', async () => {
    const result = await run(sandbox.http, { code: 'print("done")' });
    await waitForStatus(sandbox.http, result.execution_id, (s) => s === 'completed');
    const events = await readEventStream(`${sandbox.url}/execution/${result.execution_id}/stream`);
    expect(events.map((e) => e.event)).toEqual(['output', 'status', 'result']);
  });
});
