import Docker from 'dockerode';
import { CONTAINER_LABEL } from '../apps/sandbox/src/config/app-config';
import { ownContainerCount, startSandboxApp, waitForStatus } from './support/sandbox-app';

describe('Start-up, shutdown and a missing engine or image', () => {
  afterEach(async () => {
    expect(await ownContainerCount()).toBe(0);
  });

  it('removes containers a crashed earlier run left behind', async () => {
    const docker = new Docker();
    const leftover = await docker.createContainer({
      Image: 'brain-net-sandbox-runtime:3.11',
      Cmd: ['sleep', '300'],
      Labels: { [CONTAINER_LABEL]: 'left-by-a-crash' },
      HostConfig: { NetworkMode: 'none' },
    });
    await leftover.start();
    expect(await ownContainerCount()).toBe(1);

    const sandbox = await startSandboxApp();
    expect(await ownContainerCount()).toBe(0);
    await sandbox.close();
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
    expect(await ownContainerCount()).toBe(1);

    await sandbox.close();
    expect(await ownContainerCount()).toBe(0);
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
