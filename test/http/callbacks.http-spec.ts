import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { HostResolver } from '@brain-net/webhooks';
import { StaticHostResolver } from '@brain-net/webhooks/testing/static-host-resolver';
import { WebhookReceiver } from '@brain-net/webhooks/testing/webhook-receiver';
import type {
  ExecutionDetailsDto,
  ExecutionListDto,
} from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import {
  ScriptedSandboxApp,
  pollUntil,
  run,
  startScriptedSandboxApp,
} from '../support/sandbox-app';
import { eventually } from '../support/eventually';

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
/** Resolves to a private address: refused before any connection (never dialed). */
const PRIVATE_HOST = 'private.invalid';
const SLEEPER_CODE = 'import time\nprint("started", flush=True)\ntime.sleep(60)';

interface Problem {
  status: number;
  code: string;
  detail: string;
}

interface CallbackBody {
  type: string;
  timestamp: string;
  data: ExecutionDetailsDto;
}

/** Polls GET /execution/{id} until its callback has ended (delivered or failed). */
function callbackEnded(sandbox: ScriptedSandboxApp, id: string): Promise<ExecutionDetailsDto> {
  return pollUntil<ExecutionDetailsDto>(
    sandbox.http,
    `/execution/${id}`,
    (execution) =>
      execution.callback?.status === 'delivered' || execution.callback?.status === 'failed',
    15_000,
  );
}

describe('Execution callbacks (a real loopback receiver)', () => {
  const receiver = new WebhookReceiver();
  const resolver = new StaticHostResolver({ [PRIVATE_HOST]: ['10.0.0.7'] });
  let sandbox: ScriptedSandboxApp;
  let hook: string;

  /** The requests the receiver got for this execution. */
  const receivedFor = (id: string) =>
    receiver.received.filter((request) => request.headers['webhook-id'] === `exec_${id}`);

  beforeAll(async () => {
    await receiver.start();
    hook = `${receiver.url('127.0.0.1')}/hook`;
    sandbox = await startScriptedSandboxApp(
      {
        CALLBACK_ALLOWED_HOSTS: `127.0.0.1,${PRIVATE_HOST}`,
        CALLBACK_SECRET: SECRET,
        CALLBACK_ALLOW_PRIVATE: '127.0.0.1',
        CALLBACK_ALLOW_HTTP: 'true',
        CALLBACK_TIMEOUT_MS: '2000',
        CALLBACK_RETRY_BASE_MS: '50',
        CALLBACK_RETRY_MAX_MS: '200',
        CALLBACK_MAX_ATTEMPTS: '5',
      },
      undefined,
      [{ provide: HostResolver, useValue: resolver }],
    );
  });

  afterAll(async () => {
    await sandbox.close();
    await receiver.stop();
  });

  beforeEach(() => {
    receiver.answer = { status: 204 };
  });

  it('POSTs the finished result once, signed so that Standard Webhooks verifies it', async () => {
    const result = await run(sandbox.http, { code: 'print(1)', callback_url: hook });
    const id = result.execution_id;
    const execution = await callbackEnded(sandbox, id);
    expect(execution.callback).toEqual({
      url: hook,
      status: 'delivered',
      attempts: 1,
      last_error: null,
      delivered_at: expect.any(String) as unknown,
    });

    const [delivered, ...more] = receivedFor(id);
    expect(more).toEqual([]);
    expect(delivered.method).toBe('POST');
    expect(delivered.path).toBe('/hook');
    expect(delivered.headers['content-type']).toBe('application/json');
    const headers = delivered.headers as Record<string, string>;
    const body = new Webhook(SECRET).verify(delivered.body, headers) as CallbackBody;
    expect(body.type).toBe('execution.finished');
    expect(body.timestamp).toBe(result.end_time);
    expect({ ...body.data, callback: execution.callback }).toEqual(execution);
    expect(body.data).toMatchObject({ execution_id: id, status: 'completed' });

    // Nothing more comes: the outbox does not deliver it twice.
    await sleep(1500);
    expect(receivedFor(id)).toHaveLength(1);
  });

  it('retries with backoff while the receiver answers 500, then delivers', async () => {
    receiver.answer = { status: 500 };
    const { execution_id: id } = await run(sandbox.http, { code: 'print(2)', callback_url: hook });
    await eventually(
      () => Promise.resolve(receivedFor(id).length >= 2 ? true : undefined),
      10_000,
      'two failed attempts',
    );
    const meanwhile = (await sandbox.http.get(`/execution/${id}`).expect(200))
      .body as ExecutionDetailsDto;
    expect(meanwhile.callback).toMatchObject({ status: 'pending', last_error: 'answered 500' });
    receiver.answer = { status: 204 };

    const execution = await callbackEnded(sandbox, id);
    expect(execution.callback).toMatchObject({ status: 'delivered', attempts: 3 });
    const attempts = receivedFor(id);
    expect(attempts).toHaveLength(3);
    // One id on every attempt, so that the receiver can drop repeats; each signed anew.
    for (const attempt of attempts) {
      expect(() =>
        new Webhook(SECRET).verify(attempt.body, attempt.headers as Record<string, string>),
      ).not.toThrow();
    }
    expect(new Set(attempts.map((attempt) => attempt.body)).size).toBe(1);
  });

  it('calls back for a cancelled execution too', async () => {
    const accepted = await sandbox.http
      .post('/execute')
      .send({ code: SLEEPER_CODE, callback_url: hook })
      .expect(202);
    const id = (accepted.body as { execution_id: string }).execution_id;
    await pollUntil<ExecutionDetailsDto>(sandbox.http, `/execution/${id}`, (live) =>
      live.output.includes('started'),
    );
    expect(
      ((await sandbox.http.get(`/execution/${id}`).expect(200)).body as ExecutionDetailsDto)
        .callback,
    ).toMatchObject({ status: 'waiting', attempts: 0 });
    await sandbox.http.delete(`/execution/${id}`).expect(200);

    await callbackEnded(sandbox, id);
    const [delivered] = receivedFor(id);
    const body = JSON.parse(delivered.body) as CallbackBody;
    expect(body.data.status).toBe('cancelled');
  });

  it('refuses a callback_url whose host is not allowed with 400, storing nothing', async () => {
    const before = (await sandbox.http.get('/executions').expect(200)).body as ExecutionListDto;
    const response = await sandbox.http
      .post('/execute')
      .send({ code: 'print(3)', callback_url: 'http://elsewhere.invalid/hook' })
      .expect(400);
    const problem = response.body as Problem;
    expect(problem.code).toBe('CALLBACK_URL_REFUSED');
    expect(problem.detail).toContain('elsewhere.invalid is not an allowed host');
    const after = (await sandbox.http.get('/executions').expect(200)).body as ExecutionListDto;
    expect(after.total).toBe(before.total);
  });

  it('ends a callback to a name that resolves to a private address failed, never connecting', async () => {
    const connections = receiver.connections;
    const url = `${receiver.url(PRIVATE_HOST)}/hook`;
    const { execution_id: id } = await run(sandbox.http, { code: 'print(4)', callback_url: url });
    const execution = await callbackEnded(sandbox, id);
    expect(execution.callback).toMatchObject({ url, status: 'failed', attempts: 1 });
    expect(execution.callback?.last_error).toMatch(
      /^refused: private\.invalid: 10\.0\.0\.7 is private/,
    );
    expect(resolver.asked).toContain(PRIVATE_HOST);
    expect(receiver.connections).toBe(connections);
  });

  it('shows no callback on an execution submitted without one', async () => {
    const { execution_id: id } = await run(sandbox.http, { code: 'print(5)' });
    const execution = (await sandbox.http.get(`/execution/${id}`).expect(200))
      .body as ExecutionDetailsDto;
    expect(execution.callback).toBeNull();
  });
});
