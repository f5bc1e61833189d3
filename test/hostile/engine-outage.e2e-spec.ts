import Docker from 'dockerode';
import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { EngineProxy } from '../support/engine-proxy';
import {
  SandboxApp,
  pollUntil,
  run,
  startSandboxApp,
  startSleeper,
  waitForReadiness,
  waitForStatus,
} from '../support/sandbox-app';

const IMAGE = 'brain-net-sandbox-runtime:3.11';

interface Accepted {
  execution_id: string;
}

async function submit(sandbox: SandboxApp, code: string): Promise<string> {
  const response = await sandbox.http.post('/execute').send({ code }).expect(202);
  return (response.body as Accepted).execution_id;
}

describe('Engine and image outages hold the queue', () => {
  it('turns red, answers 503 and holds queued jobs while the engine is gone, then runs them', async () => {
    const proxy = new EngineProxy();
    await proxy.open();
    const sandbox = await startSandboxApp({
      DOCKER_HOST: proxy.dockerHost,
      MAX_CONCURRENT_EXECUTIONS: '1',
      ENGINE_CHECK_INTERVAL_MS: '200',
    });
    try {
      await waitForReadiness(sandbox.http, 200);
      const running = await startSleeper(sandbox.http);
      const queued = [await submit(sandbox, 'print("one")'), await submit(sandbox, 'print("two")')];

      const shutAt = Date.now();
      await proxy.shut();
      await waitForReadiness(sandbox.http, 503);
      const redAfterMs = Date.now() - shutAt;
      const refused = await sandbox.http.post('/execute').send({ code: 'pass' }).expect(503);
      expect(refused.body).toMatchObject({ code: 'ENGINE_UNAVAILABLE' });
      expect(refused.headers['retry-after']).toBeDefined();

      // The job that was running lost its engine: a clear failure, not a hang.
      const lost = await waitForStatus(sandbox.http, running, (status) => status === 'failed');
      expect(lost.error).toMatch(/engine/i);
      // The queued ones wait through the outage.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      for (const id of queued) {
        const waiting = (await sandbox.http.get(`/execution/${id}`).expect(200))
          .body as ExecutionResultDto;
        expect(waiting.status).toBe('queued');
      }

      await proxy.open();
      await waitForReadiness(sandbox.http, 200);
      const outputs = [];
      for (const id of queued) {
        const done = await waitForStatus(
          sandbox.http,
          id,
          (status) => status !== 'queued' && status !== 'running',
        );
        outputs.push([done.status, done.output]);
      }
      console.log(`readiness went red ${redAfterMs} ms after the engine went away`);
      expect(outputs).toEqual([
        ['completed', 'one\n'],
        ['completed', 'two\n'],
      ]);
      expect((await run(sandbox.http, { code: 'print("after")' })).output).toBe('after\n');
    } finally {
      await sandbox.close();
      await proxy.shut();
    }
  });

  it('holds queued jobs while the runtime image is untagged, and runs them when it is back', async () => {
    const docker = new Docker();
    const backup = `brain-net-sandbox-runtime:outage-${process.pid}`;
    await docker
      .getImage(IMAGE)
      .tag({ repo: 'brain-net-sandbox-runtime', tag: `outage-${process.pid}` });
    const sandbox = await startSandboxApp({
      MAX_CONCURRENT_EXECUTIONS: '1',
      ENGINE_CHECK_INTERVAL_MS: '200',
    });
    try {
      await waitForReadiness(sandbox.http, 200);
      const running = await submit(sandbox, 'import time\ntime.sleep(1.5)\nprint("first")');
      const queued = [await submit(sandbox, 'print("one")'), await submit(sandbox, 'print("two")')];
      await pollUntil<ExecutionResultDto>(
        sandbox.http,
        `/execution/${running}`,
        (r) => r.status === 'running',
      );

      await docker.getImage(IMAGE).remove({ noprune: true }); // untags; the backup tag keeps it
      await waitForReadiness(sandbox.http, 503);
      const refused = await sandbox.http.post('/execute').send({ code: 'pass' }).expect(503);
      expect(refused.body).toMatchObject({ code: 'RUNTIME_IMAGE_MISSING' });

      // The running job is not disturbed; the queued ones wait for the image.
      const first = await waitForStatus(sandbox.http, running, (status) => status === 'completed');
      expect(first.output).toBe('first\n');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      for (const id of queued) {
        const waiting = (await sandbox.http.get(`/execution/${id}`).expect(200))
          .body as ExecutionResultDto;
        expect(waiting.status).toBe('queued');
      }

      await docker.getImage(backup).tag({ repo: 'brain-net-sandbox-runtime', tag: '3.11' });
      await waitForReadiness(sandbox.http, 200);
      for (const [index, id] of queued.entries()) {
        const done = await waitForStatus(sandbox.http, id, (status) => status === 'completed');
        expect(done.output).toBe(`${['one', 'two'][index]}\n`);
      }
    } finally {
      await sandbox.close();
      // Whatever happened above, leave the runtime image tagged for everyone else.
      await docker.getImage(backup).tag({ repo: 'brain-net-sandbox-runtime', tag: '3.11' });
      await docker.getImage(backup).remove({ noprune: true });
    }
  });
});
