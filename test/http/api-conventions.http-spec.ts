import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdjustmentAcceptedDto } from '../../apps/sandbox/src/adjustment/dto/adjustment.dto';
import type {
  ExecutionAcceptedDto,
  ExecutionListDto,
  ExecutionResultDto,
} from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { StandInBackend } from '@brain-net/backend-client/testing/stand-in-backend';
import { keyEntry } from '../support/api-keys';
import { ScriptedSandboxApp, startScriptedSandboxApp } from '../support/sandbox-app';

const KEYS = {
  alice: 'alice-key-0123456789',
  bob: 'bob-key-0123456789',
  admin: 'admin-key-0123456789',
  writer: 'writer-key-0123456789',
};

const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  errors?: { field: string; messages: string[] }[];
}

/** A problem body without its request id, which differs from one request to the next. */
function withoutRequestId(body: unknown): Problem {
  const problem = { ...(body as Problem & { request_id?: string }) };
  delete problem.request_id;
  return problem;
}

const FAILING_CODE = 'raise SystemExit(1)';

describe('API conventions: Location, GET /executions/{id}, filters (AUTH_MODE=api-key)', () => {
  let directory: string;
  let sandbox: ScriptedSandboxApp;
  const backend = new StandInBackend();

  beforeAll(async () => {
    await backend.start();
    directory = mkdtempSync(join(tmpdir(), 'sandbox-conventions-'));
    const keysFile = join(directory, 'keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify([
        keyEntry('alice', KEYS.alice, 'tenant-a'),
        keyEntry('bob', KEYS.bob, 'tenant-b'),
        keyEntry('ops', KEYS.admin, 'ops', ['admin']),
        keyEntry('writer', KEYS.writer, 'tenant-a', ['execute']),
      ]),
    );
    sandbox = await startScriptedSandboxApp({
      AUTH_MODE: 'api-key',
      API_KEYS_FILE: keysFile,
      BACKEND_URL: backend.url,
    });
    sandbox.runner.script(FAILING_CODE, { exit: { exit_code: 1 } });
  });

  afterAll(async () => {
    await sandbox.close();
    await backend.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  /** Runs code as `key` to its end; its result. */
  async function runAs(key: string, body: Record<string, unknown>): Promise<ExecutionResultDto> {
    const response = await sandbox.http
      .post('/execute?wait=true')
      .set(auth(key))
      .send(body)
      .expect(200);
    return response.body as ExecutionResultDto;
  }

  describe('Location', () => {
    it('answers a 202 of POST /execute with where the execution is read, and it is there', async () => {
      const accepted = await sandbox.http
        .post('/execute')
        .set(auth(KEYS.alice))
        .send({ code: 'pass' })
        .expect(202);
      const { execution_id: id } = accepted.body as ExecutionAcceptedDto;
      expect(accepted.headers.location).toBe(`/execution/${id}`);
      const read = await sandbox.http
        .get(accepted.headers.location)
        .set(auth(KEYS.alice))
        .expect(200);
      expect((read.body as ExecutionResultDto).execution_id).toBe(id);
    });

    it('names the first execution on a replayed submit, and none on ?wait=true', async () => {
      const submit = () =>
        sandbox.http
          .post('/execute')
          .set({ ...auth(KEYS.alice), 'Idempotency-Key': 'location-replay' })
          .send({ code: 'pass' })
          .expect(202);
      const first = await submit();
      const { execution_id: id } = first.body as ExecutionAcceptedDto;
      expect(first.headers.location).toBe(`/execution/${id}`);
      const replay = await submit();
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.headers.location).toBe(first.headers.location);

      const waited = await sandbox.http
        .post('/execute?wait=true')
        .set(auth(KEYS.alice))
        .send({ code: 'pass' })
        .expect(200);
      expect(waited.headers.location).toBeUndefined();
    });

    it('answers a 202 of POST /adjust-processor with where its delivery is followed', async () => {
      const accepted = await sandbox.http
        .post('/adjust-processor')
        .set(auth(KEYS.alice))
        .send({ processor_id: 'processor-1', adjustments: { x: 1 }, reason: 'location' })
        .expect(202);
      const { adjustment_id: id } = accepted.body as AdjustmentAcceptedDto;
      expect(accepted.headers.location).toBe(`/adjustments/${id}`);
      await sandbox.http.get(accepted.headers.location).set(auth(KEYS.alice)).expect(200);
    });
  });

  describe('GET /executions/{id}', () => {
    it('answers exactly as GET /execution/{id}', async () => {
      const { execution_id: id } = await runAs(KEYS.alice, { code: 'pass' });
      const seed = await sandbox.http.get(`/execution/${id}`).set(auth(KEYS.alice)).expect(200);
      const alias = await sandbox.http.get(`/executions/${id}`).set(auth(KEYS.alice)).expect(200);
      expect(alias.body).toEqual(seed.body);
      await sandbox.http.get(`/executions/${id}`).set(auth(KEYS.admin)).expect(200);
    });

    it('keeps another tenant’s execution as unknown as a missing one, with the same problem', async () => {
      const { execution_id: id } = await runAs(KEYS.alice, { code: 'pass' });
      const unknownId = '00000000-0000-4000-8000-000000000000';
      const answers = await Promise.all(
        [`/execution/${id}`, `/executions/${id}`, `/executions/${unknownId}`].map((path) =>
          sandbox.http.get(path).set(auth(KEYS.bob)).expect(404),
        ),
      );
      const [seedBody, ...others] = answers.map((answer) => withoutRequestId(answer.body));
      expect(seedBody.code).toBe('EXECUTION_NOT_FOUND');
      expect(others[0]).toEqual(seedBody);
      expect(others[1]).toEqual({ ...seedBody, detail: seedBody.detail.replace(id, unknownId) });
      const notAnId = await sandbox.http
        .get('/executions/not-an-id')
        .set(auth(KEYS.alice))
        .expect(404);
      expect((notAnId.body as Problem).code).toBe('EXECUTION_NOT_FOUND');
    });

    it('needs the read scope and credentials, as GET /execution/{id} does', async () => {
      const { execution_id: id } = await runAs(KEYS.alice, { code: 'pass' });
      for (const path of [`/execution/${id}`, `/executions/${id}`]) {
        const forbidden = await sandbox.http.get(path).set(auth(KEYS.writer)).expect(403);
        expect((forbidden.body as Problem).code).toBe('FORBIDDEN');
        const anonymous = await sandbox.http.get(path).expect(401);
        expect((anonymous.body as Problem).code).toBe('UNAUTHENTICATED');
      }
    });
  });

  describe('GET /executions filters', () => {
    // Bob's tenant is this block's alone: its listings hold exactly what it submits.
    const bobs: Record<string, string> = {};

    beforeAll(async () => {
      const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
      bobs.done1 = (await runAs(KEYS.bob, { code: 'pass', processor_id: 'proc-1' })).execution_id;
      await pause();
      bobs.broken = (await runAs(KEYS.bob, { code: FAILING_CODE })).execution_id;
      await pause();
      bobs.done2 = (await runAs(KEYS.bob, { code: 'pass', processor_id: 'proc-2' })).execution_id;
      await pause();
      bobs.broken1 = (
        await runAs(KEYS.bob, { code: FAILING_CODE, processor_id: 'proc-1' })
      ).execution_id;
      // Alice's, matching the filters below: never in Bob's listings.
      await runAs(KEYS.alice, { code: FAILING_CODE, processor_id: 'proc-1' });
    });

    async function listAs(key: string, query: string): Promise<ExecutionListDto> {
      const response = await sandbox.http.get(`/executions?${query}`).set(auth(key)).expect(200);
      return response.body as ExecutionListDto;
    }
    const idsOf = (list: ExecutionListDto) => list.items.map((item) => item.execution_id);

    it('lists the executions in a status, or in any of several, counting only those', async () => {
      const failed = await listAs(KEYS.bob, 'status=failed');
      expect(idsOf(failed)).toEqual([bobs.broken1, bobs.broken]);
      expect(failed.total).toBe(2);
      expect(failed.items.every((item) => item.status === 'failed')).toBe(true);

      const either = await listAs(KEYS.bob, 'status=failed,completed&limit=3');
      expect(idsOf(either)).toEqual([bobs.broken1, bobs.done2, bobs.broken]);
      expect(either.total).toBe(4);
      expect(
        idsOf(await listAs(KEYS.bob, 'status=completed&status=failed&page=2&limit=3')),
      ).toEqual([bobs.done1]);
      expect(await listAs(KEYS.bob, 'status=queued')).toMatchObject({ items: [], total: 0 });
    });

    it('lists one processor’s executions', async () => {
      const proc1 = await listAs(KEYS.bob, 'processor_id=proc-1');
      expect(idsOf(proc1)).toEqual([bobs.broken1, bobs.done1]);
      expect(proc1.total).toBe(2);
      expect(proc1.items.every((item) => item.processor_id === 'proc-1')).toBe(true);
      expect(idsOf(await listAs(KEYS.bob, 'processor_id=proc-1&status=completed'))).toEqual([
        bobs.done1,
      ]);
    });

    it('lists the executions queued at or after `since`', async () => {
      const all = await listAs(KEYS.bob, 'limit=100');
      const done2 = all.items.find((item) => item.execution_id === bobs.done2);
      const since = encodeURIComponent(done2?.created_at ?? '');
      const recent = await listAs(KEYS.bob, `since=${since}`);
      expect(idsOf(recent)).toEqual([bobs.broken1, bobs.done2]);
      expect(recent.total).toBe(2);
      // The same moment with an offset.
      const offsetSince = new Date(Date.parse(done2?.created_at ?? '') + 3_600_000)
        .toISOString()
        .replace('Z', '+01:00');
      expect(idsOf(await listAs(KEYS.bob, `since=${encodeURIComponent(offsetSince)}`))).toEqual(
        idsOf(recent),
      );
      expect(await listAs(KEYS.bob, 'since=2999-01-01T00:00:00Z')).toMatchObject({
        items: [],
        total: 0,
      });
    });

    it('never lists another tenant’s executions; an admin’s listing may name the tenant', async () => {
      const alices = await listAs(KEYS.alice, 'status=failed&processor_id=proc-1');
      expect(alices.total).toBe(1);
      expect(alices.items[0].tenant).toBe('tenant-a');
      const admins = await listAs(KEYS.admin, 'status=failed&processor_id=proc-1&tenant=tenant-b');
      expect(idsOf(admins)).toEqual([bobs.broken1]);
      expect((await listAs(KEYS.admin, 'status=failed&processor_id=proc-1')).total).toBe(2);
    });

    const STATUS_RULE = 'status must be one or more of queued, running';
    const PROCESSOR_RULE = 'processor_id must start with a letter or digit';
    const SINCE_RULE = 'since must be an ISO 8601 date-time with a time zone';
    it.each([
      ['status=finished', 'status', STATUS_RULE],
      ['status=', 'status', STATUS_RULE],
      ['status=failed,nope', 'status', STATUS_RULE],
      ['processor_id=..', 'processor_id', PROCESSOR_RULE],
      ['processor_id=a%20b', 'processor_id', PROCESSOR_RULE],
      ['since=yesterday', 'since', SINCE_RULE],
      ['since=2026-12-07', 'since', SINCE_RULE],
      ['since=2026-12-07T08:00:00', 'since', SINCE_RULE],
      ['since=2026-02-30T08:00:00Z', 'since', SINCE_RULE],
      ['since=', 'since', SINCE_RULE],
    ])('answers ?%s with a 400 naming %s', async (query, parameter, rule) => {
      const response = await sandbox.http
        .get(`/executions?${query}`)
        .set(auth(KEYS.bob))
        .expect(400);
      const problem = response.body as Problem;
      expect(problem.code).toBe('VALIDATION_FAILED');
      expect(problem.errors).toEqual([
        { field: parameter, messages: [expect.stringContaining(rule)] },
      ]);
      expect(problem.detail).toContain(rule);
    });
  });

  describe('the OpenAPI document', () => {
    interface Operation {
      operationId: string;
      parameters?: { name: string; in: string; required?: boolean }[];
      responses: Record<string, { headers?: Record<string, unknown> }>;
    }
    let paths: Record<string, Record<string, Operation>>;

    beforeAll(async () => {
      const response = await sandbox.http.get('/docs-json').expect(200);
      paths = (response.body as { paths: typeof paths }).paths;
    });

    it('shows both paths of an execution, each with an operationId of its own', () => {
      expect(paths['/execution/{id}'].get.operationId).toBe('getExecution');
      expect(paths['/executions/{id}'].get.operationId).toBe('getExecutionAlias');
    });

    it('declares Location on the 202 answers', () => {
      expect(paths['/execute'].post.responses['202'].headers).toHaveProperty('Location');
      expect(paths['/adjust-processor'].post.responses['202'].headers).toHaveProperty('Location');
    });

    it('declares the filters of GET /executions, none of them required', () => {
      const query = (paths['/executions'].get.parameters ?? []).filter((p) => p.in === 'query');
      for (const name of ['status', 'processor_id', 'since']) {
        expect(query.find((parameter) => parameter.name === name)).toMatchObject({
          required: false,
        });
      }
    });
  });
});

describe('CORS (CORS_ORIGINS)', () => {
  const ORIGIN = 'https://app.example.com';

  describe('unset (the default)', () => {
    let sandbox: ScriptedSandboxApp;

    beforeAll(async () => {
      sandbox = await startScriptedSandboxApp();
    });

    afterAll(() => sandbox.close());

    it('sends no CORS headers, on answers or preflights', async () => {
      const answer = await sandbox.http.get('/executions').set('Origin', ORIGIN).expect(200);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await sandbox.http
        .options('/execute')
        .set('Origin', ORIGIN)
        .set('Access-Control-Request-Method', 'POST');
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      expect(preflight.headers['access-control-allow-methods']).toBeUndefined();
    });
  });

  describe('a list of origins, with authentication on', () => {
    let directory: string;
    let sandbox: ScriptedSandboxApp;

    beforeAll(async () => {
      directory = mkdtempSync(join(tmpdir(), 'sandbox-cors-'));
      const keysFile = join(directory, 'keys.json');
      writeFileSync(keysFile, JSON.stringify([keyEntry('alice', KEYS.alice, 'tenant-a')]));
      sandbox = await startScriptedSandboxApp({
        AUTH_MODE: 'api-key',
        API_KEYS_FILE: keysFile,
        CORS_ORIGINS: `${ORIGIN}, http://localhost:3000`,
      });
    });

    afterAll(async () => {
      await sandbox.close();
      rmSync(directory, { recursive: true, force: true });
    });

    it('answers a preflight without credentials, allowing the API’s headers', async () => {
      const preflight = await sandbox.http
        .options('/execute')
        .set('Origin', ORIGIN)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization,content-type,idempotency-key')
        .expect(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(preflight.headers.vary).toMatch(/Origin/);
      expect(preflight.headers['access-control-allow-methods']).toBe('GET,HEAD,POST,DELETE');
      const allowed = String(preflight.headers['access-control-allow-headers']).split(',');
      expect(allowed).toEqual(
        expect.arrayContaining([
          'Authorization',
          'Content-Type',
          'Idempotency-Key',
          'X-Request-Id',
          'Mcp-Protocol-Version',
        ]),
      );
      // A preflight of a route that reads a body, and of one with an id: neither asks for a key.
      await sandbox.http
        .options('/execution/00000000-0000-4000-8000-000000000000')
        .set('Origin', 'http://localhost:3000')
        .set('Access-Control-Request-Method', 'DELETE')
        .expect(204)
        .expect('Access-Control-Allow-Origin', 'http://localhost:3000');
    });

    it('lets an allowed origin read the answer and its headers, problems included', async () => {
      const accepted = await sandbox.http
        .post('/execute')
        .set({ ...auth(KEYS.alice), Origin: ORIGIN })
        .send({ code: 'pass' })
        .expect(202);
      expect(accepted.headers['access-control-allow-origin']).toBe(ORIGIN);
      const exposed = String(accepted.headers['access-control-expose-headers']).split(',');
      expect(exposed).toEqual(expect.arrayContaining(['Location', 'Retry-After', 'X-Request-Id']));

      const refused = await sandbox.http.get('/executions').set('Origin', ORIGIN).expect(401);
      expect(refused.headers['access-control-allow-origin']).toBe(ORIGIN);
    });

    it('gives another origin no CORS grant', async () => {
      const answer = await sandbox.http
        .get('/executions')
        .set({ ...auth(KEYS.alice), Origin: 'https://evil.example' })
        .expect(200);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await sandbox.http
        .options('/execute')
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'POST');
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('`*`', () => {
    let sandbox: ScriptedSandboxApp;

    beforeAll(async () => {
      sandbox = await startScriptedSandboxApp({ CORS_ORIGINS: '*' });
    });

    afterAll(() => sandbox.close());

    it('lets any origin in', async () => {
      const answer = await sandbox.http
        .get('/executions')
        .set('Origin', 'https://anywhere.example')
        .expect(200);
      expect(answer.headers['access-control-allow-origin']).toBe('*');
    });
  });
});
