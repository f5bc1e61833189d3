import Docker from 'dockerode';
import { JOB_LABEL, SANDBOX_LABEL } from '@brain-net/runner';
import { containerCountOf, startSandboxApp, waitForStatus } from './support/sandbox-app';

describe('Start-up, shutdown and a missing engine or image', () => {
  const docker = new Docker();

  async function startLeftover(instanceId: string): Promise<Docker.Container> {
    const container = await docker.createContainer({
      Image: 'brain-net-sandbox-runtime:3.11',
      Cmd: ['sleep', '300'],
      Labels: { [SANDBOX_LABEL]: instanceId, [JOB_LABEL]: 'left-by-a-crash' },
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
    return container;
  }

  it('removes the containers its own crashed predecessor left, and nobody else’s', async () => {
    const mine = 'lifecycle-sweep-me';
    const other = 'lifecycle-sweep-other';
    await startLeftover(mine);
    const othersContainer = await startLeftover(other);
    expect(await containerCountOf(mine)).toBe(1);

    const sandbox = await startSandboxApp({ SANDBOX_INSTANCE_ID: mine });
    expect(await containerCountOf(mine, 'all')).toBe(0);
    expect(await containerCountOf(other)).toBe(1);
    await sandbox.close();
    await othersContainer.remove({ force: true });
  });

  it('kills and removes running containers when the service shuts down', async () => {
    const sandbox = await startSandboxApp();
    const accepted = await sandbox.http
      .post('/execute')
      .send({ code: 'import time\ntime.sleep(60)' })
      .expect(202);
    const id = (accepted.body as { execution_id: string }).execution_id;
    await waitForStatus(sandbox.http, id, (status) => status === 'running');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await sandbox.containerCount()).toBe(1);

    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('answers 503 with the build command when the runtime image is missing', async () => {
    const sandbox = await startSandboxApp({ SANDBOX_IMAGE: 'brain-net-no-such-image:0' });
    const response = await sandbox.http.post('/execute').send({ code: 'pass' }).expect(503);
    expect(response.body).toMatchObject({ code: 'RUNTIME_IMAGE_MISSING' });
    expect((response.body as { detail: string }).detail).toContain('npm run build:image');
    await sandbox.close();
  });

  it('answers 503 when the Docker engine is unreachable, and records nothing', async () => {
    const sandbox = await startSandboxApp({ DOCKER_HOST: 'unix:///tmp/no-docker-here.sock' });
    const response = await sandbox.http.post('/execute').send({ code: 'pass' }).expect(503);
    expect(response.body).toMatchObject({ code: 'ENGINE_UNAVAILABLE' });
    const list = await sandbox.http.get('/executions').expect(200);
    expect((list.body as { total: number }).total).toBe(0);
    await sandbox.close();
  });
});
