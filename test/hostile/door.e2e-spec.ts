import { mkdtempSync, rmSync } from 'node:fs';
import { ClientRequest, OutgoingHttpHeaders, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sendRaw } from '../support/liveness-probe';
import { SandboxApp, startSandboxApp } from '../support/sandbox-app';
import { keyEntry, writeKeysFile } from '../support/api-keys';

const KEYS = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789' };

/** A request whose body starts but never ends: it holds whatever it was given. */
function trickle(url: string, method: string, headers: OutgoingHttpHeaders): ClientRequest {
  const req = request(url, {
    method,
    headers: { 'content-length': 1_000_000, ...headers },
  });
  req.on('error', () => undefined);
  req.on('response', (response) => response.resume());
  req.write('{"code": "');
  return req;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const json = { 'content-type': 'application/json' };

/**
 * Issue 19: what the shape of a request cannot make the service do (AUTH_MODE=api-key):
 * bodies on routes that read none, per-tenant upload slots, ambiguous credentials,
 * corrupt compressed bodies, ids that are not ids, pages beyond any listing.
 */
describe('The door: hostile request shapes (AUTH_MODE=api-key)', () => {
  let directory: string;
  let sandbox: SandboxApp;
  let aliceExecution: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'sandbox-door-'));
    const keysFile = writeKeysFile(directory, [
      keyEntry('alice', KEYS.alice, 'tenant-a'),
      keyEntry('bob', KEYS.bob, 'tenant-b'),
    ]);
    sandbox = await startSandboxApp({
      AUTH_MODE: 'api-key',
      API_KEYS_FILE: keysFile,
      MAX_CONCURRENT_UPLOADS: '4',
      MAX_CONCURRENT_UPLOADS_PER_TENANT: '2',
    });
    const done = await sandbox.http
      .post('/execute?wait=true')
      .set(bearer(KEYS.alice))
      .send({ code: 'print("alice")' })
      .expect(200);
    aliceExecution = (done.body as { execution_id: string }).execution_id;
  });

  afterAll(async () => {
    await sandbox.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('keeps the open routes open to a request that carries a body', async () => {
    for (const path of ['/health/live', '/', '/health/ready']) {
      const answer = await sendRaw(
        `${sandbox.url}${path}`,
        'GET',
        { 'content-type': 'text/plain', 'content-length': 1 },
        'x',
      );
      expect([path, answer.status]).not.toEqual([path, 401]);
      expect(answer.status).toBeLessThan(500);
    }
  });

  it("gives one tenant's bodies a bounded share of the upload slots", async () => {
    // Bodies on a route that reads none take no slot at all, however many.
    const streams = [0, 1, 2, 3, 4].map(() =>
      trickle(`${sandbox.url}/execution/${aliceExecution}/stream`, 'GET', {
        ...bearer(KEYS.alice),
        'content-type': 'text/plain',
      }),
    );
    // Two trickled submits: alice's whole share.
    const submits = [0, 1].map(() =>
      trickle(`${sandbox.url}/execute`, 'POST', { ...bearer(KEYS.alice), ...json }),
    );
    try {
      await settle();
      const third = await sendRaw(
        `${sandbox.url}/EXECUTE/`,
        'POST',
        { ...bearer(KEYS.alice), ...json },
        '{"code":"print(3)"}',
      );
      expect(third.status).toBe(429);
      expect(JSON.parse(third.body)).toMatchObject({ code: 'TENANT_TOO_MANY_UPLOADS' });
      expect(third.headers['retry-after']).toBe('1');

      const bobs = await sandbox.http
        .post('/execute?wait=true')
        .set(bearer(KEYS.bob))
        .send({ code: 'print("bob gets in")' })
        .expect(200);
      expect((bobs.body as { output: string }).output).toBe('bob gets in\n');
      const adjustment = await sendRaw(
        `${sandbox.url}/adjust-processor`,
        'POST',
        { ...bearer(KEYS.bob), ...json },
        '{"processor_id":"p1","adjustments":{"x":1},"reason":"r"}',
      );
      expect(adjustment.status).toBe(202);
    } finally {
      [...streams, ...submits].forEach((req) => req.destroy());
    }
    await settle();
    await sandbox.http
      .post('/execute')
      .set(bearer(KEYS.alice))
      .send({ code: 'print("room again")' })
      .expect(202);
  });

  it('refuses two Authorization headers, as it refuses two X-API-Key headers', async () => {
    for (const name of ['authorization', 'x-api-key']) {
      const values =
        name === 'authorization'
          ? [`Bearer ${KEYS.alice}`, `Bearer ${KEYS.bob}`]
          : [KEYS.alice, KEYS.bob];
      for (const [method, path] of [
        ['GET', '/executions'],
        ['POST', '/execute'],
      ]) {
        const answer = await sendRaw(
          `${sandbox.url}${path}`,
          method,
          { [name]: values, ...json },
          method === 'POST' ? '{"code":"print(1)"}' : undefined,
        );
        expect([name, path, answer.status]).toEqual([name, path, 401]);
        expect(JSON.parse(answer.body)).toMatchObject({ code: 'UNAUTHENTICATED' });
      }
    }
  });

  it('answers a corrupt gzip or deflate body with 400, and a sound one as usual', async () => {
    for (const encoding of ['gzip', 'deflate']) {
      const answer = await sendRaw(
        `${sandbox.url}/execute`,
        'POST',
        { ...bearer(KEYS.alice), ...json, 'content-encoding': encoding },
        Buffer.from('1f8b08000000000000030000ffff00', 'hex'),
      );
      expect([encoding, answer.status]).toEqual([encoding, 400]);
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'MALFORMED_BODY' });
    }
    const sound = await sendRaw(
      `${sandbox.url}/execute?wait=true`,
      'POST',
      { ...bearer(KEYS.alice), ...json, 'content-encoding': 'gzip' },
      gzipSync('{"code":"print(42)"}'),
    );
    expect(sound.status).toBe(200);
    expect(JSON.parse(sound.body)).toMatchObject({ output: '42\n' });
  });

  it('answers 404 for what is not an execution id, before any store read', async () => {
    for (const suffix of [':input', ':summary', ':links', '%3Ainput', '/../x']) {
      for (const path of ['execution', 'debug']) {
        const answer = await sandbox.http
          .get(`/${path}/${aliceExecution}${suffix}`)
          .set(bearer(KEYS.alice));
        expect([suffix, path, answer.status]).toEqual([suffix, path, 404]);
      }
    }
    await sandbox.http.get(`/execution/${aliceExecution}`).set(bearer(KEYS.alice)).expect(200);
    // Another tenant's id answers like an unknown one.
    const other = await sandbox.http
      .get(`/execution/${aliceExecution}`)
      .set(bearer(KEYS.bob))
      .expect(404);
    const unknown = await sandbox.http
      .get(`/execution/${aliceExecution.replace(/^./, (c) => (c === '0' ? '1' : '0'))}`)
      .set(bearer(KEYS.bob))
      .expect(404);
    expect((other.body as { detail: string }).detail).toMatch(/^No execution has id /);
    expect((unknown.body as { code: string }).code).toBe((other.body as { code: string }).code);
  });

  it('refuses pages beyond any listing with 400 on both listings', async () => {
    for (const listing of ['/executions', '/adjustments']) {
      for (const page of ['1e20', '1000001', '99999999999999999999']) {
        const answer = await sandbox.http.get(`${listing}?page=${page}`).set(bearer(KEYS.alice));
        expect([listing, page, answer.status]).toEqual([listing, page, 400]);
        expect((answer.body as { code: string }).code).toBe('VALIDATION_FAILED');
      }
      await sandbox.http.get(`${listing}?page=1000000`).set(bearer(KEYS.alice)).expect(200);
    }
  });
});
