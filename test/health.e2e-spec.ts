import { EngineProxy } from './support/engine-proxy';
import {
  SandboxApp,
  run,
  startSandboxApp,
  waitForStatus,
  startSleeper,
  waitForReadiness,
  waitForValue,
} from './support/sandbox-app';

interface HealthBody {
  status: string;
  details: Record<string, { status: string; message?: string }>;
  statistics?: {
    totals: Record<string, number>;
    running: number;
    queued: number;
    mean_execution_ms: number | null;
    p95_execution_ms: number | null;
    uptime_s: number;
    adjustments: Record<string, number>;
  };
}

describe('Health, probes and service info', () => {
  describe('with the engine up', () => {
    let sandbox: SandboxApp;

    beforeAll(async () => {
      sandbox = await startSandboxApp();
    });

    afterAll(async () => {
      await sandbox.close();
    });

    it('reports every dependency up, with execution statistics', async () => {
      await run(sandbox.http, { code: 'print(1)' });
      await run(sandbox.http, { code: '1/0' });
      await sandbox.containersSettle(); // removed just after the answer
      const response = await sandbox.http.get('/health').expect(200);
      const body = response.body as HealthBody;
      expect(body.status).toBe('ok');
      expect(body.details).toMatchObject({
        docker_engine: { status: 'up' },
        containers: { status: 'up', count: 0 },
        runtime_image: { status: 'up' },
        queue: { status: 'up' },
      });
      expect(body.statistics?.totals).toMatchObject({ completed: 1, failed: 1 });
      expect(body.statistics?.mean_execution_ms).toBeGreaterThan(0);
      expect(body.statistics?.p95_execution_ms).toBeGreaterThan(0);
      expect(body.statistics?.uptime_s).toBeGreaterThan(0);
      expect(body.statistics).toMatchObject({
        running: 0,
        queued: 0,
        adjustments: { pending: 0, delivered: 0, failed: 0 },
      });
    });

    it('answers the liveness and readiness probes', async () => {
      await sandbox.http.get('/health/live').expect(200);
      const ready = await sandbox.http.get('/health/ready').expect(200);
      expect((ready.body as HealthBody).status).toBe('ok');
    });
  });

  it('turns red when the runtime image is missing', async () => {
    const sandbox = await startSandboxApp({ SANDBOX_IMAGE: 'brain-net-no-such-image:0' });
    const response = await sandbox.http.get('/health/ready').expect(503);
    expect((response.body as HealthBody).details.runtime_image).toMatchObject({ status: 'down' });
    await sandbox.close();
  });

  it('turns readiness red while the engine is unreachable and green when it returns', async () => {
    const proxy = new EngineProxy();
    await proxy.open();
    const sandbox = await startSandboxApp({ DOCKER_HOST: proxy.dockerHost });
    try {
      await sandbox.http.get('/health/ready').expect(200);

      await proxy.shut();
      await waitForReadiness(sandbox.http, 503);
      const down = await sandbox.http.get('/health/ready').expect(503);
      expect((down.body as HealthBody).details.docker_engine).toMatchObject({ status: 'down' });
      await sandbox.http.get('/health').expect(503);
      await sandbox.http.get('/health/live').expect(200);
      const refused = await sandbox.http.post('/execute').send({ code: 'pass' }).expect(503);
      expect(refused.body).toMatchObject({ code: 'ENGINE_UNAVAILABLE' });

      await proxy.open();
      await waitForReadiness(sandbox.http, 200);
      const result = await run(sandbox.http, { code: 'print("back")' });
      expect(result.output).toBe('back\n');
    } finally {
      await sandbox.close();
      await proxy.shut();
    }
  });

  it('fails a run the engine dropped mid-way, and removes its container once the engine is back', async () => {
    const proxy = new EngineProxy();
    await proxy.open();
    const sandbox = await startSandboxApp({ DOCKER_HOST: proxy.dockerHost });
    try {
      const id = await startSleeper(sandbox.http);

      await proxy.shut();
      const failed = await waitForStatus(sandbox.http, id, (status) => status === 'failed');
      expect(failed.error).toMatch(/^The Docker engine failed while this execution ran: /);
      expect(await sandbox.containerCount()).toBe(1);

      await proxy.open();
      await waitForReadiness(sandbox.http, 200);
      // The engine watch pings it, and each ping retries the removals that failed.
      await waitForValue(() => sandbox.containerCount(), 0);
    } finally {
      await sandbox.close();
      await proxy.shut();
    }
  });
});
