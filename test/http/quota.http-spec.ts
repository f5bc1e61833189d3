import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { Deferred } from '@brain-net/runner/testing/scripted-runner';
import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { keyEntry } from '../support/api-keys';
import { ScriptedSandboxApp, startScriptedSandboxApp, waitForStatus } from '../support/sandbox-app';
import { sleeping } from '../support/scripted-runs';

const SLEEPER = 'import time\ntime.sleep(2)';

/** With AUTH_MODE=none every caller is the `default` tenant. */
describe('Rate limit on submits per tenant (RATE_LIMIT_PER_MINUTE=3)', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp({ RATE_LIMIT_PER_MINUTE: '3' });
  });

  afterAll(() => sandbox.close());

  it('answers the fourth submit in a minute 429 RATE_LIMITED with Retry-After and RateLimit-*', async () => {
    const ids: string[] = [];
    for (const remaining of ['2', '1', '0']) {
      const accepted = await sandbox.http.post('/execute').send({ code: 'print(1)' }).expect(202);
      expect(accepted.headers['ratelimit-limit']).toBe('3');
      expect(accepted.headers['ratelimit-remaining']).toBe(remaining);
      expect(Number(accepted.headers['ratelimit-reset'])).toBeGreaterThan(0);
      ids.push((accepted.body as { execution_id: string }).execution_id);
    }

    const refused = await sandbox.http.post('/execute').send({ code: 'print(1)' }).expect(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({
      status: 429,
      code: 'RATE_LIMITED',
      type: 'urn:brain-net:sandbox:rate-limited',
    });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers['ratelimit-limit']).toBe('3');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['ratelimit-reset']).toBe(String(retryAfter));

    for (const id of ids) await waitForStatus(sandbox.http, id, (s) => s === 'completed');
  });

  it('leaves every other route alone once the submits are spent', async () => {
    await sandbox.http.post('/execute').send({ code: 'print(1)' }).expect(429);
    for (let i = 0; i < 5; i += 1) {
      const listed = await sandbox.http.get('/executions').expect(200);
      expect(listed.headers['ratelimit-limit']).toBeUndefined();
      await sandbox.http.get('/health/live').expect(200);
    }
  });
});

describe('Per-tenant caps (MAX_CONCURRENT_PER_TENANT=1, MAX_QUEUED_PER_TENANT=1)', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp({
      MAX_CONCURRENT_EXECUTIONS: '2',
      MAX_CONCURRENT_PER_TENANT: '1',
      MAX_QUEUED_PER_TENANT: '1',
    });
  });

  afterAll(() => sandbox.close());

  async function submit(code: string): Promise<string> {
    const response = await sandbox.http.post('/execute').send({ code }).expect(202);
    return (response.body as { execution_id: string }).execution_id;
  }

  it("queues a tenant's second job though a slot is free, and refuses its third TENANT_QUEUE_FULL", async () => {
    const sleeperEnds = new Deferred();
    sandbox.runner.script(SLEEPER, { hold: sleeperEnds });
    const first = await submit(SLEEPER);
    const second = await submit('print("second")');
    const waiting = await sandbox.http.get(`/execution/${second}`).expect(200);
    expect(waiting.body).toMatchObject({ status: 'queued' });

    const refused = await sandbox.http.post('/execute').send({ code: SLEEPER }).expect(429);
    expect(refused.body).toMatchObject({ code: 'TENANT_QUEUE_FULL' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    sleeperEnds.resolve();
    const [ran, next] = await Promise.all([
      waitForStatus(sandbox.http, first, (s) => s === 'completed'),
      waitForStatus(sandbox.http, second, (s) => s === 'completed'),
    ]);
    expect(Date.parse(next.start_time ?? '')).toBeGreaterThanOrEqual(
      Date.parse(ran.end_time ?? ''),
    );
  });
});

const KEYS = { alpha: 'alpha-key-0123456789', beta: 'beta-key-0123456789' };

describe('Fair share between tenants (AUTH_MODE=api-key, one slot)', () => {
  let directory: string;
  let sandbox: ScriptedSandboxApp;
  /** One client per tenant, each sending its key. */
  let as: Record<keyof typeof KEYS, TestAgent>;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'sandbox-quota-'));
    const keysFile = join(directory, 'keys.json');
    const entry = (tenant: keyof typeof KEYS) =>
      keyEntry(tenant, KEYS[tenant], tenant, ['execute', 'read']);
    writeFileSync(keysFile, JSON.stringify([entry('alpha'), entry('beta')]));
    sandbox = await startScriptedSandboxApp({
      AUTH_MODE: 'api-key',
      API_KEYS_FILE: keysFile,
      MAX_CONCURRENT_EXECUTIONS: '1',
      RATE_LIMIT_PER_MINUTE: '4',
    });
    const client = (tenant: keyof typeof KEYS) =>
      request.agent(sandbox.app.getHttpServer()).set('Authorization', `Bearer ${KEYS[tenant]}`);
    as = { alpha: client('alpha'), beta: client('beta') };
  });

  afterAll(async () => {
    await sandbox.close();
    rmSync(directory, { recursive: true, force: true });
  });

  async function submit(tenant: keyof typeof KEYS, code: string): Promise<string> {
    const response = await as[tenant].post('/execute').send({ code }).expect(202);
    return (response.body as { execution_id: string }).execution_id;
  }

  it("starts another tenant's single job after at most one job of a tenant's flood", async () => {
    const floodCode = 'import time\ntime.sleep(1)';
    // Alpha's jobs run until the whole flood and beta's job are in; beta's lasts long
    // enough that the next job's start (in ms) cannot tie with its own.
    const floodRuns = new Deferred();
    sandbox.runner.script(floodCode, { hold: floodRuns });
    sandbox.runner.script('print("beta")', sleeping(50));
    const flood: string[] = [];
    for (let i = 0; i < 4; i += 1) flood.push(await submit('alpha', floodCode));
    // Alpha spent its minute; beta's submits are counted apart.
    const limited = await as.alpha.post('/execute').send({ code: 'print(1)' }).expect(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
    const single = await submit('beta', 'print("beta")');
    floodRuns.resolve();

    const done = (tenant: keyof typeof KEYS, id: string) =>
      waitForStatus(as[tenant], id, (s) => s === 'completed');
    const alphas = await Promise.all(flood.map((id) => done('alpha', id)));
    const beta = await done('beta', single);
    const startOf = (result: ExecutionResultDto) => Date.parse(result.start_time ?? '');
    expect(startOf(beta)).toBeGreaterThanOrEqual(Date.parse(alphas[0].end_time ?? ''));
    expect(startOf(beta)).toBeLessThan(startOf(alphas[1]));
  });
});
