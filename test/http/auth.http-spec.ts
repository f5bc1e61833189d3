import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request, { Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { sha256 } from '../../apps/sandbox/src/auth/api-key-file';
import type { Scope } from '../../apps/sandbox/src/auth/caller';
import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import {
  ScriptedSandboxApp,
  pollUntil,
  startScriptedSandboxApp,
  waitForValue,
} from '../support/sandbox-app';
import { scriptPrints } from '../support/scripted-runs';
import { StandInBackend } from '@brain-net/backend-client/testing/stand-in-backend';
import { TokenIssuer } from '../../apps/sandbox/src/auth/testing/token-issuer';

const CHALLENGE = 'Bearer realm="brain-net-sandbox"';

interface OpenApiDocument {
  components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }> };
  paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
}

/** A key file with one key per name: the key itself is `<name>-key`. */
function writeKeyFile(file: string, keys: Record<string, Scope[]>): void {
  const entries = Object.entries(keys).map(([name, scopes]) => ({
    name,
    key_sha256: sha256(`${name}-key`).toString('hex'),
    tenant: 'tenant-a',
    scopes,
  }));
  writeFileSync(file, JSON.stringify(entries));
}

function expectUnauthenticated(response: Response, challenge: RegExp | string = CHALLENGE): void {
  expect(response.status).toBe(401);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  expect(response.headers['www-authenticate']).toMatch(challenge);
}

function expectForbidden(response: Response, scope: Scope): void {
  expect(response.status).toBe(403);
  expect(response.body).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  expect(response.headers['www-authenticate']).toBe(
    `${CHALLENGE}, error="insufficient_scope", scope="${scope}"`,
  );
}

/** Every request of the agent carries the header. */
function agentWith(sandbox: ScriptedSandboxApp, header: string, value: string): TestAgent {
  return request.agent(sandbox.app.getHttpServer()).set(header, value);
}

/** An agent presenting `credential` (a key or a token) as a bearer credential. */
function bearerAgent(sandbox: ScriptedSandboxApp, credential: string): TestAgent {
  return agentWith(sandbox, 'Authorization', `Bearer ${credential}`);
}

const PRINT = { code: 'print("authorized")' };

async function expectRunsToCompletion(agent: TestAgent): Promise<void> {
  const accepted = await agent.post('/execute').send(PRINT).expect(202);
  const id = (accepted.body as { execution_id: string }).execution_id;
  const done = await pollUntil<ExecutionResultDto>(
    agent,
    `/execution/${id}`,
    (result) => result.status === 'completed',
  );
  expect(done.output).toBe('authorized\n');
}

describe('authentication with API keys', () => {
  let dir: string;
  let keyFile: string;
  let sandbox: ScriptedSandboxApp;
  const bearer = (name: string) => bearerAgent(sandbox, `${name}-key`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-auth-'));
    keyFile = join(dir, 'keys.json');
    writeKeyFile(keyFile, { runner: ['execute', 'read'], reader: ['read'], admin: ['admin'] });
    sandbox = await startScriptedSandboxApp({ AUTH_MODE: 'api-key', API_KEYS_FILE: keyFile });
    scriptPrints(sandbox.runner, 'authorized');
  });

  afterAll(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 401 with a bare challenge when no key is sent', async () => {
    expectUnauthenticated(await sandbox.http.post('/execute').send(PRINT));
    expectUnauthenticated(await sandbox.http.get('/executions'));
    expectUnauthenticated(await sandbox.http.get('/health'));
  });

  it('answers 401 invalid_token for a key it does not know', async () => {
    expectUnauthenticated(await bearer('mallory').post('/execute').send(PRINT), /invalid_token/);
    const viaHeader = agentWith(sandbox, 'X-API-Key', 'mallory-key');
    expectUnauthenticated(await viaHeader.get('/executions'), /invalid_token/);
  });

  it('answers 403 to a known key without the scope', async () => {
    expectForbidden(await bearer('reader').post('/execute').send(PRINT), 'execute');
    expectForbidden(await bearer('runner').get('/adjustments'), 'adjust');
  });

  it('runs code for a key with the execute scope', async () => {
    await expectRunsToCompletion(bearer('runner'));
  });

  it('takes the key in X-API-Key too', async () => {
    await agentWith(sandbox, 'X-API-Key', 'reader-key').get('/executions').expect(200);
  });

  it('lets admin do everything', async () => {
    const admin = bearer('admin');
    await admin.get('/adjustments').expect(200);
    await admin.get('/health').expect(200);
  });

  it('keeps the probes, the service description and the docs open; /metrics is for admins', async () => {
    await sandbox.http.get('/health/live').expect(200);
    expect([200, 503]).toContain((await sandbox.http.get('/health/ready')).status);
    await sandbox.http.get('/').expect(200);
    await sandbox.http.get('/docs').expect(200);
    // AUTH_PROTECT_METRICS defaults to protected once authentication is on.
    expectUnauthenticated(await sandbox.http.get('/metrics'));
    await bearer('admin').get('/metrics').expect(200);
  });

  it('declares both schemes in the OpenAPI document, so Swagger UI can authorize', async () => {
    const document = (await sandbox.http.get('/docs-json').expect(200)).body as OpenApiDocument;
    expect(document.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      'api-key': { type: 'apiKey', in: 'header', name: 'X-API-Key' },
    });
    expect(document.paths['/execute'].post.security).toEqual([{ bearer: [] }, { 'api-key': [] }]);
    expect(document.paths['/health/live'].get.security).toBeUndefined();
  });

  // Last: it replaces the keys the other cases use.
  it('follows the key file while running: a new key works, a removed one is refused', async () => {
    writeKeyFile(keyFile, { newcomer: ['read'], reader: ['read'] });
    const newcomerStatus = async () => (await bearer('newcomer').get('/executions')).status;
    await waitForValue(newcomerStatus, 200);
    expectUnauthenticated(await bearer('runner').get('/executions'), /invalid_token/);
    await bearer('reader').get('/executions').expect(200);
  });
});

describe('protected docs and metrics', () => {
  let dir: string;
  let sandbox: ScriptedSandboxApp;
  const bearer = (name: string) => bearerAgent(sandbox, `${name}-key`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-auth-'));
    const keyFile = join(dir, 'keys.json');
    writeKeyFile(keyFile, { runner: ['execute', 'read'], admin: ['admin'] });
    sandbox = await startScriptedSandboxApp({
      AUTH_MODE: 'api-key',
      API_KEYS_FILE: keyFile,
      AUTH_PROTECT_DOCS: 'true',
      AUTH_PROTECT_METRICS: 'true',
    });
  });

  afterAll(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['/docs', '/docs-json', '/metrics'])('%s needs the admin scope', async (path) => {
    expectUnauthenticated(await sandbox.http.get(path));
    expectForbidden(await bearer('runner').get(path), 'admin');
    await bearer('admin').get(path).expect(200);
  });

  it('keeps the probes open', async () => {
    await sandbox.http.get('/health/live').expect(200);
  });
});

describe('authentication with the backend’s tokens (jwt)', () => {
  const ISSUER = 'https://backend.test';
  const AUDIENCE = 'brain-net-sandbox';
  const claims = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-7',
    tenant: 'acme',
    scope: 'execute read',
  };
  let backend: StandInBackend;
  let issuer: TokenIssuer;
  let sandbox: ScriptedSandboxApp;
  const bearer = (token: string) => bearerAgent(sandbox, token);

  beforeAll(async () => {
    backend = new StandInBackend();
    await backend.start();
    issuer = await TokenIssuer.create('key-1', claims);
    backend.jwks = issuer.jwks;
    sandbox = await startScriptedSandboxApp({
      AUTH_MODE: 'jwt',
      AUTH_JWKS_URL: backend.jwksUrl,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      // A rotation is picked up at the first token signed with the new key.
      AUTH_JWKS_COOLDOWN_S: '0',
      BACKEND_URL: backend.url,
    });
    scriptPrints(sandbox.runner, 'authorized', 'from the backend');
  });

  afterAll(async () => {
    await sandbox.close();
    await backend.stop();
  });

  it('runs code for a valid token with the execute scope', async () => {
    await expectRunsToCompletion(bearer(await issuer.sign()));
  });

  it('answers 401 invalid_token for an expired token', async () => {
    const expired = await issuer.sign({ exp: Math.floor(Date.now() / 1000) - 120 });
    const response = await bearer(expired).get('/executions');
    expectUnauthenticated(response, /error="invalid_token", error_description=".*'exp'/);
  });

  it('answers 401 for a token meant for another audience', async () => {
    const elsewhere = await issuer.sign({ aud: 'another-service' });
    expectUnauthenticated(await bearer(elsewhere).get('/executions'), /invalid_token/);
  });

  it('answers 403 to a token without the scope', async () => {
    const readOnly = await issuer.sign({ scope: 'read' });
    expectForbidden(await bearer(readOnly).post('/execute').send(PRINT), 'execute');
    await bearer(readOnly).get('/executions').expect(200);
  });

  it("fetches a processor with the caller's own token: the backend's 403 becomes a 403", async () => {
    backend.setProcessor('processor-jwt', 'print("from the backend")');
    const allowed = await issuer.sign({ sub: 'user-allowed' });
    const refused = await issuer.sign({ sub: 'user-refused' });
    backend.refusedTokens.add(refused);

    const ran = await bearer(allowed)
      .post('/execute?wait=true')
      .send({ processor_id: 'processor-jwt' })
      .expect(200);
    expect(ran.body).toMatchObject({ status: 'completed', output: 'from the backend\n' });
    expect(backend.processorAuthorizations).toContain(`Bearer ${allowed}`);

    const forbidden = await bearer(refused)
      .post('/execute')
      .send({ processor_id: 'processor-jwt' })
      .expect(403);
    expect(forbidden.body).toMatchObject({ code: 'FORBIDDEN' });
    expect((forbidden.body as { detail: string }).detail).toContain('processor-jwt');
  });

  it('follows a key rotation: the new key is fetched, the retired one refused', async () => {
    const before = await issuer.sign();
    const rotated = await TokenIssuer.create('key-2', claims);
    backend.jwks = rotated.jwks;
    await bearer(await rotated.sign())
      .get('/executions')
      .expect(200);
    expectUnauthenticated(await bearer(before).get('/executions'), /invalid_token/);
  });
});
