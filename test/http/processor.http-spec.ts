import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdjustmentAcceptedDto } from '../../apps/sandbox/src/adjustment/dto/adjustment.dto';
import { BACKEND_UNAVAILABLE_MESSAGE } from '../../apps/sandbox/src/processor/processor-definition.service';
import { eventually } from '../support/eventually';
import { StandInBackend } from '@brain-net/backend-client/testing/stand-in-backend';
import { ScriptedSandboxApp, run, startScriptedSandboxApp } from '../support/sandbox-app';
import { scriptPrints } from '../support/scripted-runs';
import { TokenIssuer } from '../../apps/sandbox/src/auth/testing/token-issuer';
import { keyEntry } from '../support/api-keys';

const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789' };
const SERVICE_TOKEN = 'service-token-0123456789';

/** An API key file: alice in tenant-a, bob in tenant-b, both may execute, read and adjust. */
function writeKeysFile(directory: string): string {
  const file = join(directory, 'keys.json');
  writeFileSync(
    file,
    JSON.stringify([
      keyEntry('alice', KEYS.alice, 'tenant-a'),
      keyEntry('bob', KEYS.bob, 'tenant-b'),
    ]),
  );
  return file;
}

const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

/** An execution that names a processor and no code runs the code the backend holds. */
describe('Processor definitions from the backend', () => {
  const backend = new StandInBackend();
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    await backend.start();
    sandbox = await startScriptedSandboxApp({
      BACKEND_URL: backend.url,
      PROCESSOR_CACHE_TTL_S: '60',
    });
    scriptPrints(sandbox.runner, 'v1', 'v2', 'mine', 'backend code');
  });

  afterAll(async () => {
    await sandbox.close();
    await backend.stop();
  });

  it('reuses a fetched definition while it is fresh', async () => {
    backend.setProcessor('greeter', 'print("v1")');
    expect((await run(sandbox.http, { processor_id: 'greeter' })).output).toBe('v1\n');
    backend.setProcessor('greeter', 'print("v2")');
    expect((await run(sandbox.http, { processor_id: 'greeter' })).output).toBe('v1\n');
  });

  it('runs the given code when both code and processor_id are sent', async () => {
    backend.setProcessor('ignored', 'print("backend code")');
    const result = await run(sandbox.http, { processor_id: 'ignored', code: 'print("mine")' });
    expect(result.output).toBe('mine\n');
  });

  it('answers 404 for a processor the backend does not know', async () => {
    const response = await sandbox.http
      .post('/execute')
      .send({ processor_id: 'no-such-processor' })
      .expect(404);
    expect(response.body).toMatchObject({ code: 'PROCESSOR_NOT_FOUND' });
    expect((response.body as { detail: string }).detail).toContain('no-such-processor');
  });

  it('answers 400 when neither code nor processor_id is given', async () => {
    const response = await sandbox.http.post('/execute').send({ input_data: {} }).expect(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('answers 502 when the backend is unreachable, and records nothing', async () => {
    const before = (await sandbox.http.get('/executions').expect(200)).body as { total: number };
    await backend.stop();
    try {
      const response = await sandbox.http
        .post('/execute')
        .send({ processor_id: 'never-fetched' })
        .expect(502);
      expect(response.body).toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        detail: BACKEND_UNAVAILABLE_MESSAGE,
      });
      // Where the backend is, and what failed, is for the log, not for the caller.
      expect(JSON.stringify(response.body)).not.toContain(backend.url);
    } finally {
      await backend.start();
    }
    const after = (await sandbox.http.get('/executions').expect(200)).body as { total: number };
    expect(after.total).toBe(before.total);
  });
});

describe('Processor definitions without a cache (PROCESSOR_CACHE_TTL_S=0)', () => {
  const backend = new StandInBackend();
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    await backend.start();
    sandbox = await startScriptedSandboxApp({
      BACKEND_URL: backend.url,
      PROCESSOR_CACHE_TTL_S: '0',
    });
    scriptPrints(sandbox.runner, 'v1', 'v2');
  });

  afterAll(async () => {
    await sandbox.close();
    await backend.stop();
  });

  it('fetches the definition every time', async () => {
    backend.setProcessor('fresh', 'print("v1")');
    expect((await run(sandbox.http, { processor_id: 'fresh' })).output).toBe('v1\n');
    backend.setProcessor('fresh', 'print("v2")');
    expect((await run(sandbox.http, { processor_id: 'fresh' })).output).toBe('v2\n');
  });
});

describe('The backend is told who asks (AUTH_MODE=api-key)', () => {
  const backend = new StandInBackend();
  let directory: string;
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    await backend.start();
    directory = mkdtempSync(join(tmpdir(), 'sandbox-processor-'));
    sandbox = await startScriptedSandboxApp({
      AUTH_MODE: 'api-key',
      API_KEYS_FILE: writeKeysFile(directory),
      BACKEND_URL: backend.url,
      BACKEND_TOKEN: SERVICE_TOKEN,
      PROCESSOR_CACHE_TTL_S: '60',
      ADJUSTMENT_RETRY_BASE_MS: '10',
    });
    scriptPrints(sandbox.runner, 'shared');
  });

  afterAll(async () => {
    await sandbox.close();
    await backend.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  async function runAs(key: string, processorId: string): Promise<string> {
    const response = await sandbox.http
      .post('/execute?wait=true')
      .set(auth(key))
      .send({ processor_id: processorId })
      .expect(200);
    return (response.body as { output: string }).output;
  }

  it("fetches a processor for each tenant, naming it and the caller: no tenant gets another's", async () => {
    backend.setProcessor('shared', 'print("shared")');
    expect(await runAs(KEYS.alice, 'shared')).toBe('shared\n');
    expect(await runAs(KEYS.bob, 'shared')).toBe('shared\n');
    // Within a tenant the fetched definition is reused.
    expect(await runAs(KEYS.alice, 'shared')).toBe('shared\n');

    const fetches = backend.processorFetches.filter((fetch) => fetch.processorId === 'shared');
    expect(fetches.map((fetch) => fetch.headers)).toEqual([
      expect.objectContaining({
        authorization: `Bearer ${SERVICE_TOKEN}`,
        'x-sandbox-tenant': 'tenant-a',
        'x-sandbox-caller': 'alice',
      }),
      expect.objectContaining({
        authorization: `Bearer ${SERVICE_TOKEN}`,
        'x-sandbox-tenant': 'tenant-b',
        'x-sandbox-caller': 'bob',
      }),
    ]);
  });

  it.each(['..', '.'])(
    'answers 400 to processor_id %j on both routes, and the backend receives nothing',
    async (processorId) => {
      backend.setProcessor(processorId, 'print("never")');
      const before = backend.requests.length;
      const executed = await sandbox.http
        .post('/execute')
        .set(auth(KEYS.alice))
        .send({ processor_id: processorId })
        .expect(400);
      const adjusted = await sandbox.http
        .post('/adjust-processor')
        .set(auth(KEYS.alice))
        .send({ processor_id: processorId, adjustments: { x: 1 }, reason: 'r' })
        .expect(400);
      for (const response of [executed, adjusted]) {
        expect(response.body).toMatchObject({
          code: 'VALIDATION_FAILED',
          errors: [expect.objectContaining({ field: 'processor_id' })],
        });
      }
      // Time enough for a delivery attempt, had anything been accepted.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(backend.requests.slice(before)).toEqual([]);
    },
  );

  it("answers 502 without the backend's address or words when it fails", async () => {
    const secret = `secret-${randomUUID()}`;
    backend.processorFailure = {
      status: 500,
      body: { detail: `database at postgres://admin:${secret}@db failed` },
    };
    try {
      const response = await sandbox.http
        .post('/execute')
        .set(auth(KEYS.alice))
        .send({ processor_id: 'failing' })
        .expect(502);
      expect(response.body).toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        detail: BACKEND_UNAVAILABLE_MESSAGE,
      });
      expect(response.text).not.toContain(secret);
      expect(response.text).not.toContain(backend.url);
      expect(backend.processorFetches.at(-1)?.processorId).toBe('failing');
    } finally {
      backend.processorFailure = null;
    }
  });

  it('delivers an adjustment naming its tenant and creator, in headers and body', async () => {
    const accepted = await sandbox.http
      .post('/adjust-processor')
      .set(auth(KEYS.bob))
      .send({ processor_id: 'shared', adjustments: { x: 1 }, reason: 'faster' })
      .expect(202);
    const id = (accepted.body as AdjustmentAcceptedDto).adjustment_id;
    const received = await eventually(
      () => Promise.resolve(backend.requestsFor(id)[0]),
      10_000,
      `the delivery of adjustment ${id}`,
    );
    expect(received.headers).toMatchObject({
      authorization: `Bearer ${SERVICE_TOKEN}`,
      'idempotency-key': id,
      'x-sandbox-tenant': 'tenant-b',
      'x-sandbox-caller': 'bob',
    });
    expect(received.body).toMatchObject({
      adjustment_id: id,
      processor_id: 'shared',
      tenant: 'tenant-b',
      created_by: 'bob',
    });
  });
});

describe('Processors only for callers with their own token (PROCESSOR_FETCH_WITH_SERVICE_TOKEN=false)', () => {
  const backend = new StandInBackend();
  let directory: string;
  let keyed: ScriptedSandboxApp;
  let tokened: ScriptedSandboxApp;
  let issuer: TokenIssuer;

  beforeAll(async () => {
    await backend.start();
    directory = mkdtempSync(join(tmpdir(), 'sandbox-processor-'));
    keyed = await startScriptedSandboxApp({
      AUTH_MODE: 'api-key',
      API_KEYS_FILE: writeKeysFile(directory),
      BACKEND_URL: backend.url,
      BACKEND_TOKEN: SERVICE_TOKEN,
      PROCESSOR_FETCH_WITH_SERVICE_TOKEN: 'false',
    });
    const claims = {
      iss: 'https://issuer.invalid',
      aud: 'brain-net-sandbox',
      sub: 'user-7',
      tenant: 'acme',
      scope: 'execute read',
    };
    issuer = await TokenIssuer.create('key-1', claims);
    backend.jwks = issuer.jwks;
    tokened = await startScriptedSandboxApp({
      AUTH_MODE: 'jwt',
      AUTH_JWKS_URL: backend.jwksUrl,
      AUTH_JWT_ISSUER: claims.iss,
      AUTH_JWT_AUDIENCE: claims.aud,
      BACKEND_URL: backend.url,
      BACKEND_TOKEN: SERVICE_TOKEN,
      PROCESSOR_FETCH_WITH_SERVICE_TOKEN: 'false',
    });
    scriptPrints(tokened.runner, 'guarded');
  });

  afterAll(async () => {
    await keyed.close();
    await tokened.close();
    await backend.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('answers 403 to a caller without a token of its own, and the backend receives nothing', async () => {
    backend.setProcessor('guarded', 'print("guarded")');
    const before = backend.requests.length;
    const response = await keyed.http
      .post('/execute')
      .set(auth(KEYS.alice))
      .send({ processor_id: 'guarded' })
      .expect(403);
    expect(response.body).toMatchObject({ code: 'FORBIDDEN' });
    expect((response.body as { detail: string }).detail).toMatch(
      /guarded.*bearer token of their own/,
    );
    expect(backend.requests.slice(before)).toEqual([]);
  });

  it('still runs a processor for a caller with its own token, fetched with that token and naming it', async () => {
    backend.setProcessor('guarded', 'print("guarded")');
    const token = await issuer.sign();
    const response = await tokened.http
      .post('/execute?wait=true')
      .set(auth(token))
      .send({ processor_id: 'guarded' })
      .expect(200);
    expect(response.body).toMatchObject({ status: 'completed', output: 'guarded\n' });
    expect(backend.processorFetches.at(-1)?.headers).toMatchObject({
      authorization: `Bearer ${token}`,
      'x-sandbox-tenant': 'acme',
      'x-sandbox-caller': 'user-7',
    });
  });
});
