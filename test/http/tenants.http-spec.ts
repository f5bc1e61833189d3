import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { ScriptedSandboxApp, startScriptedSandboxApp } from '../support/sandbox-app';
import { untilCancelled } from '../support/scripted-runs';
import { StandInBackend } from '@brain-net/backend-client/testing/stand-in-backend';
import { keyEntry } from '../support/api-keys';

const KEYS = {
  alice: 'alice-key-0123456789',
  bob: 'bob-key-0123456789',
  admin: 'admin-key-0123456789',
  reader: 'reader-key-0123456789',
};

const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

describe('Tenants cannot see each other (AUTH_MODE=api-key)', () => {
  let directory: string;
  let sandbox: ScriptedSandboxApp;
  const backend = new StandInBackend();

  beforeAll(async () => {
    await backend.start();
    directory = mkdtempSync(join(tmpdir(), 'sandbox-tenants-'));
    const keysFile = join(directory, 'keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify([
        keyEntry('alice', KEYS.alice, 'tenant-a', ['execute', 'read', 'adjust']),
        keyEntry('bob', KEYS.bob, 'tenant-b', ['execute', 'read', 'adjust']),
        keyEntry('ops', KEYS.admin, 'ops', ['admin']),
        keyEntry('reader', KEYS.reader, 'tenant-a', ['read']),
      ]),
    );
    sandbox = await startScriptedSandboxApp({
      AUTH_MODE: 'api-key',
      API_KEYS_FILE: keysFile,
      BACKEND_URL: backend.url,
      ADJUSTMENT_RETRY_BASE_MS: '10',
    });
  });

  afterAll(async () => {
    await sandbox.close();
    await backend.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  async function runAs(key: string, code: string): Promise<ExecutionResultDto> {
    const response = await sandbox.http
      .post('/execute?wait=true')
      .set(auth(key))
      .send({ code })
      .expect(200);
    return response.body as ExecutionResultDto;
  }

  it('shows an execution to its tenant and to admins, and to no one else', async () => {
    const alices = await runAs(KEYS.alice, 'print("alice")');
    const id = alices.execution_id;

    await sandbox.http.get(`/execution/${id}`).set(auth(KEYS.alice)).expect(200);
    await sandbox.http.get(`/execution/${id}`).set(auth(KEYS.reader)).expect(200);
    await sandbox.http.get(`/execution/${id}`).set(auth(KEYS.admin)).expect(200);

    // Another tenant's id answers exactly like an unknown one.
    const other = await sandbox.http.get(`/execution/${id}`).set(auth(KEYS.bob)).expect(404);
    const unknown = await sandbox.http
      .get('/execution/00000000-0000-4000-8000-000000000000')
      .set(auth(KEYS.bob))
      .expect(404);
    expect((other.body as { code: string }).code).toBe((unknown.body as { code: string }).code);
    await sandbox.http.get(`/debug/${id}`).set(auth(KEYS.bob)).expect(404);
    await sandbox.http.get(`/execution/${id}/stream`).set(auth(KEYS.bob)).expect(404);
    await sandbox.http.get(`/debug/${id}`).set(auth(KEYS.alice)).expect(200);
    await sandbox.http.get(`/debug/${id}`).set(auth(KEYS.admin)).expect(200);
  });

  it('lists each tenant its own executions; an admin all, or one tenant', async () => {
    const alices = await runAs(KEYS.alice, 'print(1)');
    const bobs = await runAs(KEYS.bob, 'print(2)');
    const idsFor = async (key: string, query = '') => {
      const response = await sandbox.http
        .get(`/executions?limit=100${query}`)
        .set(auth(key))
        .expect(200);
      return (response.body as { items: { execution_id: string }[] }).items.map(
        (item) => item.execution_id,
      );
    };
    const seenByAlice = await idsFor(KEYS.alice);
    expect(seenByAlice).toContain(alices.execution_id);
    expect(seenByAlice).not.toContain(bobs.execution_id);
    // Naming another tenant does not help a non-admin.
    expect(await idsFor(KEYS.alice, '&tenant=tenant-b')).not.toContain(bobs.execution_id);
    expect(await idsFor(KEYS.bob)).not.toContain(alices.execution_id);
    const seenByAdmin = await idsFor(KEYS.admin);
    expect(seenByAdmin).toEqual(expect.arrayContaining([alices.execution_id, bobs.execution_id]));
    const onlyB = await idsFor(KEYS.admin, '&tenant=tenant-b');
    expect(onlyB).toContain(bobs.execution_id);
    expect(onlyB).not.toContain(alices.execution_id);
  });

  it("cannot cancel another tenant's execution; its own tenant and an admin can", async () => {
    const sleeper = 'import time\ntime.sleep(30)';
    sandbox.runner.script(sleeper, untilCancelled());
    const start = async (key: string) => {
      const response = await sandbox.http
        .post('/execute')
        .set(auth(key))
        .send({ code: sleeper })
        .expect(202);
      return (response.body as { execution_id: string }).execution_id;
    };
    const alices = await start(KEYS.alice);
    await sandbox.http.delete(`/execution/${alices}`).set(auth(KEYS.bob)).expect(404);
    const cancelled = await sandbox.http
      .delete(`/execution/${alices}`)
      .set(auth(KEYS.alice))
      .expect(200);
    expect((cancelled.body as ExecutionResultDto).status).toBe('cancelled');
    const another = await start(KEYS.alice);
    await sandbox.http.delete(`/execution/${another}`).set(auth(KEYS.admin)).expect(200);
  });

  it('keeps adjustments within their tenant too', async () => {
    backend.setProcessor('processor-1', 'print(1)');
    const sent = await sandbox.http
      .post('/adjust-processor')
      .set(auth(KEYS.alice))
      .send({ processor_id: 'processor-1', adjustments: { x: 1 }, reason: 'faster' })
      .expect(202);
    const id = (sent.body as { adjustment_id: string }).adjustment_id;
    await sandbox.http.get(`/adjustments/${id}`).set(auth(KEYS.alice)).expect(200);
    await sandbox.http.get(`/adjustments/${id}`).set(auth(KEYS.bob)).expect(404);
    await sandbox.http.get(`/adjustments/${id}`).set(auth(KEYS.admin)).expect(200);
    const bobs = await sandbox.http.get('/adjustments?limit=100').set(auth(KEYS.bob)).expect(200);
    const bobIds = (bobs.body as { items: { adjustment_id: string }[] }).items.map(
      (item) => item.adjustment_id,
    );
    expect(bobIds).not.toContain(id);
  });

  it('refuses a caller without the scope with 403, and an unknown key with 401', async () => {
    await sandbox.http
      .post('/execute')
      .set(auth(KEYS.reader))
      .send({ code: 'print(1)' })
      .expect(403);
    await sandbox.http
      .post('/adjust-processor')
      .set(auth(KEYS.reader))
      .send({ processor_id: 'processor-1', adjustments: { x: 1 }, reason: 'r' })
      .expect(403);
    await sandbox.http.get('/executions').set(auth('not-a-key')).expect(401);
    await sandbox.http.get('/executions').expect(401);
  });

  it('answers an unknown caller 401 before reading its body: no upload slot, no parse', async () => {
    // Only the start of a 1 MB body is ever sent: a 401 can only come before the body.
    const answer = await new Promise<{ status: number; challenge: unknown }>((resolve, reject) => {
      const req = request(`${sandbox.url}/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': 1_000_000 },
      });
      req.once('response', (response) => {
        resolve({
          status: response.statusCode ?? 0,
          challenge: response.headers['www-authenticate'],
        });
        req.destroy();
      });
      req.once('error', reject);
      req.write('{"code": "');
    });
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(/^Bearer/);
  });
});
