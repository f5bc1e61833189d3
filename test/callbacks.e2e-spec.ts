import { Webhook } from 'standardwebhooks';
import { WebhookReceiver } from '@brain-net/webhooks/testing/webhook-receiver';
import type { ExecutionResultDto } from '../apps/sandbox/src/execution/dto/execution-result.dto';
import { eventually } from './support/eventually';
import { SandboxApp, startSandboxApp } from './support/sandbox-app';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

/** A real engine runs the code; a real receiver on loopback is called back. */
describe('Callbacks (real Docker engine)', () => {
  const receiver = new WebhookReceiver();
  let sandbox: SandboxApp;

  beforeAll(async () => {
    await receiver.start();
    sandbox = await startSandboxApp({
      CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
      CALLBACK_ALLOW_PRIVATE: '127.0.0.1',
      CALLBACK_ALLOW_HTTP: 'true',
      CALLBACK_SECRET: SECRET,
    });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
    await receiver.stop();
  });

  it('posts the finished result once, signed, after it is stored', async () => {
    const accepted = await sandbox.http
      .post('/execute')
      .send({ code: 'x = 6 * 7\nprint(x)', callback_url: `${receiver.url('127.0.0.1')}/done` })
      .expect(202);
    const id = (accepted.body as { execution_id: string }).execution_id;
    const [delivery] = await eventually(
      () => Promise.resolve(receiver.received.length > 0 ? receiver.received : undefined),
      30_000,
      'the callback',
    );
    const payload = new Webhook(SECRET).verify(
      delivery.body,
      delivery.headers as Record<string, string>,
    ) as { type: string; data: ExecutionResultDto };
    expect(payload).toMatchObject({
      type: 'execution.finished',
      data: { execution_id: id, status: 'completed', output: '42\n' },
    });
    expect(delivery.headers['webhook-id']).toBe(`exec_${id}`);
    // What the callback said is what the store holds.
    const stored = await sandbox.http.get(`/execution/${id}`).expect(200);
    expect(stored.body).toMatchObject({ output: '42\n', callback: { status: 'delivered' } });
    // Past the outbox's next look (1 s): no second delivery follows.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(receiver.received).toHaveLength(1);
  });
});
