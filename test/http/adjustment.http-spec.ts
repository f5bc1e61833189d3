import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type TestAgent from 'supertest/lib/agent';
import type {
  AdjustmentAcceptedDto,
  AdjustmentDto,
  AdjustmentListDto,
} from '../../apps/sandbox/src/adjustment/dto/adjustment.dto';
import {
  REJECTION_MESSAGE,
  StandInBackend,
} from '@brain-net/backend-client/testing/stand-in-backend';
import {
  ScriptedSandboxApp,
  pollUntil,
  run,
  startScriptedSandboxApp,
} from '../support/sandbox-app';
import { keyEntry } from '../support/api-keys';

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { field: string; messages: string[] }[];
}

/** The example of the original service's README. */
const EXAMPLE = {
  processor_id: 'processor-123',
  adjustments: { parameter_x: 'new_value', optimization: 'enabled' },
  reason: 'Performance improvement based on execution results',
};

const MAX_ATTEMPTS = 5;
const BACKEND_TIMEOUT_MS = 300;

/** Polls GET /adjustments/{id} until the adjustment satisfies the predicate. */
function waitForAdjustment(
  http: TestAgent,
  id: string,
  predicate: (adjustment: AdjustmentDto) => boolean,
): Promise<AdjustmentDto> {
  return pollUntil<AdjustmentDto>(http, `/adjustments/${id}`, predicate, 10_000);
}

const settled = (adjustment: AdjustmentDto) => adjustment.status !== 'pending';

describe('Processor adjustments (real stand-in backend)', () => {
  const backend = new StandInBackend();
  let env: Record<string, string>;
  let sandbox: ScriptedSandboxApp;

  async function accept(body: Record<string, unknown> = EXAMPLE): Promise<string> {
    const response = await sandbox.http.post('/adjust-processor').send(body).expect(202);
    return (response.body as AdjustmentAcceptedDto).adjustment_id;
  }

  beforeAll(async () => {
    await backend.start();
    env = {
      BACKEND_URL: backend.url,
      BACKEND_TIMEOUT_MS: String(BACKEND_TIMEOUT_MS),
      ADJUSTMENT_RETRY_BASE_MS: '50',
      ADJUSTMENT_RETRY_MAX_MS: '400',
      ADJUSTMENT_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    };
    sandbox = await startScriptedSandboxApp(env);
  });

  afterAll(async () => {
    await sandbox.close();
    await backend.stop();
  });

  beforeEach(() => {
    backend.adjustmentBehaviour = 'ok';
  });

  it('accepts the example with 202 and delivers it, keyed by its id', async () => {
    const response = await sandbox.http.post('/adjust-processor').send(EXAMPLE).expect(202);
    const accepted = response.body as AdjustmentAcceptedDto;
    expect(accepted.status).toBe('pending');
    expect(accepted.adjustment_id).toMatch(/^[0-9a-f-]{36}$/);
    const id = accepted.adjustment_id;

    const adjustment = await waitForAdjustment(sandbox.http, id, settled);
    expect(adjustment).toMatchObject({
      adjustment_id: id,
      ...EXAMPLE,
      execution_id: null,
      status: 'delivered',
      attempts: 1,
      last_error: null,
      next_attempt_at: null,
    });
    expect(Date.parse(adjustment.delivered_at ?? '')).toBeGreaterThanOrEqual(
      Date.parse(adjustment.created_at),
    );

    const received = backend.requestsFor(id);
    expect(received).toHaveLength(1);
    expect(received[0].path).toBe('/api/processors/processor-123/adjustments');
    expect(received[0].headers['idempotency-key']).toBe(id);
    expect(received[0].headers).toMatchObject({
      'x-sandbox-tenant': 'default',
      'x-sandbox-caller': 'anonymous',
    });
    expect(received[0].body).toEqual({
      adjustment_id: id,
      ...EXAMPLE,
      execution_id: null,
      created_at: adjustment.created_at,
      tenant: 'default',
      created_by: 'anonymous',
    });
  });

  it('passes execution_id on to the backend', async () => {
    const { execution_id: executionId } = await run(sandbox.http, { code: 'print(1)' });
    const id = await accept({ ...EXAMPLE, execution_id: executionId });
    const adjustment = await waitForAdjustment(sandbox.http, id, settled);
    expect(adjustment).toMatchObject({ status: 'delivered', execution_id: executionId });
    expect(backend.requestsFor(id)[0].body).toMatchObject({ execution_id: executionId });
  });

  it('delivers and shows adjustments keys named constructor, __proto__ and toString intact', async () => {
    const adjustments = '{"constructor": 1, "__proto__": {"x": 1}, "toString": "a"}';
    const response = await sandbox.http
      .post('/adjust-processor')
      .set('Content-Type', 'application/json')
      .send(`{"processor_id": "processor-123", "adjustments": ${adjustments}, "reason": "keys"}`)
      .expect(202);
    const id = (response.body as AdjustmentAcceptedDto).adjustment_id;
    const adjustment = await waitForAdjustment(sandbox.http, id, settled);
    expect(adjustment.status).toBe('delivered');
    const compact = JSON.stringify(JSON.parse(adjustments));
    expect(JSON.stringify(adjustment.adjustments)).toBe(compact);
    const received = backend.requestsFor(id)[0].body as { adjustments: object };
    expect(Object.keys(received.adjustments)).toEqual(['constructor', '__proto__', 'toString']);
    expect(JSON.stringify(received.adjustments)).toBe(compact);
  });

  describe.each(['/adjust-processor', '/execute'])(
    'refuses top-level fields named like Object.prototype members on POST %s with 400',
    (path) => {
      it.each(['{"constructor": 1}', '{"__proto__": {"x": 1}}', '{"toString": 1}'])(
        '%s',
        async (extra) => {
          const received = backend.adjustmentRequests.length;
          const field = Object.keys(JSON.parse(extra) as object)[0];
          const body = path === '/execute' ? { code: 'print(1)' } : EXAMPLE;
          const response = await sandbox.http
            .post(path)
            .set('Content-Type', 'application/json')
            .send(`${JSON.stringify(body).slice(0, -1)}, ${extra.slice(1)}`)
            .expect(400);
          const problem = response.body as Problem;
          expect(problem).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
          expect(problem.errors?.map((e) => e.field)).toEqual([field]);
          expect(backend.adjustmentRequests).toHaveLength(received);
        },
      );
    },
  );

  it('retries a backend that fails twice, then delivers on the third attempt', async () => {
    backend.adjustmentBehaviour = { failTimes: 2 };
    const id = await accept();
    const adjustment = await waitForAdjustment(sandbox.http, id, settled);
    expect(adjustment).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(adjustment.last_error).toContain('answered 503');
    expect(backend.requestsFor(id).map((r) => r.status)).toEqual([503, 503, 201]);
  });

  it('keeps adjustments pending while the backend is down, and delivers each once when it is back', async () => {
    await backend.stop();
    const ids = [await accept(), await accept(), await accept()];

    for (const id of ids) {
      const waiting = await waitForAdjustment(sandbox.http, id, (a) => a.attempts > 0);
      expect(waiting.status).toBe('pending');
      expect(waiting.last_error).toMatch(
        /^POST \/api\/processors\/processor-123\/adjustments failed/,
      );
      expect(waiting.next_attempt_at).not.toBeNull();
    }

    await backend.start();
    for (const id of ids) {
      const adjustment = await waitForAdjustment(sandbox.http, id, settled);
      expect(adjustment.status).toBe('delivered');
      expect(adjustment.attempts).toBeGreaterThan(1);
      const successes = backend.requestsFor(id).filter((r) => r.status === 201);
      expect(successes).toHaveLength(1);
    }
  });

  it(`gives up after ${MAX_ATTEMPTS} attempts on a backend that always fails`, async () => {
    backend.adjustmentBehaviour = 'fail';
    const id = await accept();
    const adjustment = await waitForAdjustment(sandbox.http, id, settled);
    expect(adjustment).toMatchObject({
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      next_attempt_at: null,
      delivered_at: null,
    });
    expect(adjustment.last_error).toContain(`Gave up after ${MAX_ATTEMPTS} attempts`);
    expect(adjustment.last_error).toContain('answered 503');
    expect(backend.requestsFor(id)).toHaveLength(MAX_ATTEMPTS);
  });

  it('fails at once, with the status and message, when the backend rejects the adjustment', async () => {
    backend.adjustmentBehaviour = 'reject';
    const id = await accept();
    const adjustment = await waitForAdjustment(sandbox.http, id, settled);
    expect(adjustment).toMatchObject({ status: 'failed', attempts: 1 });
    expect(adjustment.last_error).toBe(`The backend rejected it with 400: ${REJECTION_MESSAGE}`);
    expect(backend.requestsFor(id)).toHaveLength(1);
  });

  it('retries an attempt the backend does not answer within BACKEND_TIMEOUT_MS, with the same key', async () => {
    backend.adjustmentBehaviour = { delayMs: BACKEND_TIMEOUT_MS * 4 };
    const id = await accept();
    const timedOut = await waitForAdjustment(sandbox.http, id, (a) => a.attempts > 0);
    expect(timedOut.status).toBe('pending');
    expect(timedOut.last_error).toContain(`no answer within ${BACKEND_TIMEOUT_MS} ms`);

    backend.adjustmentBehaviour = 'ok';
    const adjustment = await waitForAdjustment(sandbox.http, id, settled);
    expect(adjustment.status).toBe('delivered');
    expect(adjustment.attempts).toBeGreaterThan(1);
    const keys = backend.requestsFor(id).map((r) => r.headers['idempotency-key']);
    expect(new Set(keys)).toEqual(new Set([id]));
  });

  it('delivers an adjustment accepted before a restart of the service', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'sandbox-adjustments-'));
    const fileEnv = { ...env, DATABASE_PATH: join(directory, 'data', 'sandbox.db') };
    try {
      await backend.stop();
      const before = await startScriptedSandboxApp(fileEnv);
      const response = await before.http.post('/adjust-processor').send(EXAMPLE).expect(202);
      const id = (response.body as AdjustmentAcceptedDto).adjustment_id;
      await waitForAdjustment(before.http, id, (a) => a.attempts > 0);
      await before.close();

      await backend.start();
      const after = await startScriptedSandboxApp(fileEnv);
      try {
        const adjustment = await waitForAdjustment(after.http, id, settled);
        expect(adjustment).toMatchObject({ adjustment_id: id, ...EXAMPLE, status: 'delivered' });
        expect(adjustment.attempts).toBeGreaterThan(1);
        expect(backend.requestsFor(id).filter((r) => r.status === 201)).toHaveLength(1);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('lists adjustments newest first, a page at a time', async () => {
    const ids = [
      await accept({ ...EXAMPLE, reason: 'first' }),
      await accept({ ...EXAMPLE, reason: 'second' }),
      await accept({ ...EXAMPLE, reason: 'third' }),
    ];
    const response = await sandbox.http.get('/adjustments?page=1&limit=3').expect(200);
    const page = response.body as AdjustmentListDto;
    expect(page.items.map((a) => a.adjustment_id)).toEqual([...ids].reverse());
    expect(page).toMatchObject({ page: 1, limit: 3 });
    expect(page.total).toBeGreaterThanOrEqual(3);

    const second = await sandbox.http.get('/adjustments?page=2&limit=1').expect(200);
    expect((second.body as AdjustmentListDto).items.map((a) => a.reason)).toEqual(['second']);

    for (const id of ids) await waitForAdjustment(sandbox.http, id, settled);
  });

  describe('Idempotency-Key', () => {
    const post = (key: string, body: Record<string, unknown> = EXAMPLE) =>
      sandbox.http.post('/adjust-processor').set('Idempotency-Key', key).send(body);

    it('answers a repeat with the first adjustment, and delivers it once', async () => {
      const key = `adjust-${randomUUID()}`;
      const [first, twin] = await Promise.all([post(key), post(key)]);
      expect([first.status, twin.status]).toEqual([202, 202]);
      const id = (first.body as AdjustmentAcceptedDto).adjustment_id;
      expect((twin.body as AdjustmentAcceptedDto).adjustment_id).toBe(id);
      // One of the two made it; the other is the replay.
      const replayed = [first, twin].map((answer) => answer.headers['idempotent-replayed']);
      expect(replayed.sort()).toEqual(['true', undefined]);

      await waitForAdjustment(sandbox.http, id, settled);
      const repeat = await post(key, { ...EXAMPLE, adjustments: { ...EXAMPLE.adjustments } });
      expect(repeat.status).toBe(202);
      expect(repeat.headers['idempotent-replayed']).toBe('true');
      expect(repeat.body).toEqual({ adjustment_id: id, status: 'delivered' });

      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(backend.requestsFor(id)).toHaveLength(1);
      expect(backend.requestsFor(id)[0].headers['idempotency-key']).toBe(id);
      const listed = await sandbox.http.get('/adjustments?limit=100').expect(200);
      const ids = (listed.body as AdjustmentListDto).items.map((a) => a.adjustment_id);
      expect(ids.filter((listedId) => listedId === id)).toHaveLength(1);
    });

    it('refuses the same key for a different adjustment with 422, delivering nothing more', async () => {
      const key = `adjust-${randomUUID()}`;
      const id = ((await post(key).expect(202)).body as AdjustmentAcceptedDto).adjustment_id;
      const response = await post(key, { ...EXAMPLE, reason: 'another reason' }).expect(422);
      expect(response.body).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      await waitForAdjustment(sandbox.http, id, settled);
      expect(backend.requestsFor(id)).toHaveLength(1);
    });

    it('refuses a malformed key with 400', async () => {
      const received = backend.adjustmentRequests.length;
      const response = await post('x'.repeat(201)).expect(400);
      expect(response.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      expect((response.body as Problem).errors?.map((e) => e.field)).toEqual(['Idempotency-Key']);
      expect(backend.adjustmentRequests).toHaveLength(received);
    });
  });

  it('answers 404 ADJUSTMENT_NOT_FOUND for an unknown id', async () => {
    const response = await sandbox.http.get('/adjustments/no-such-adjustment').expect(404);
    expect(response.body).toMatchObject({ status: 404, code: 'ADJUSTMENT_NOT_FOUND' });
  });

  describe('refuses invalid bodies with 400, sending nothing to the backend', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'a missing processor_id',
        { adjustments: EXAMPLE.adjustments, reason: EXAMPLE.reason },
        'processor_id',
      ],
      ['a processor_id with odd characters', { ...EXAMPLE, processor_id: 'a b/c' }, 'processor_id'],
      ['adjustments that are not an object', { ...EXAMPLE, adjustments: ['x'] }, 'adjustments'],
      ['adjustments given as a string', { ...EXAMPLE, adjustments: 'x=1' }, 'adjustments'],
      ['empty adjustments', { ...EXAMPLE, adjustments: {} }, 'adjustments'],
      ['a missing reason', { ...EXAMPLE, reason: undefined }, 'reason'],
      ['an unknown field', { ...EXAMPLE, priority: 'high' }, 'priority'],
    ];

    it.each(cases)('%s', async (_name, body, field) => {
      const received = backend.adjustmentRequests.length;
      const response = await sandbox.http.post('/adjust-processor').send(body).expect(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      const problem = response.body as Problem;
      expect(problem).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      expect(problem.errors?.map((e) => e.field)).toContain(field);
      expect(backend.adjustmentRequests).toHaveLength(received);
    });

    it('malformed JSON', async () => {
      const response = await sandbox.http
        .post('/adjust-processor')
        .set('Content-Type', 'application/json')
        .send('{"processor_id": "processor-123",')
        .expect(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    });
  });
});

describe('Processor adjustments between tenants (AUTH_MODE=api-key)', () => {
  const backend = new StandInBackend();
  const KEYS = {
    alice: 'alice-key-0123456789',
    bob: 'bob-key-0123456789',
    carol: 'carol-key-0123456789',
    dave: 'dave-key-0123456789',
  };
  const RATE_LIMIT = 6;
  const MAX_PENDING = 3;
  const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
  let directory: string;
  let sandbox: ScriptedSandboxApp;

  const adjust = (key: string, body: Record<string, unknown> = EXAMPLE) =>
    sandbox.http.post('/adjust-processor').set(auth(key)).send(body);

  beforeAll(async () => {
    await backend.start();
    directory = mkdtempSync(join(tmpdir(), 'sandbox-adjustment-tenants-'));
    const keysFile = join(directory, 'keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify([
        keyEntry('alice', KEYS.alice, 'tenant-a'),
        keyEntry('bob', KEYS.bob, 'tenant-b'),
        keyEntry('carol', KEYS.carol, 'tenant-c'),
        keyEntry('dave', KEYS.dave, 'tenant-d'),
      ]),
    );
    sandbox = await startScriptedSandboxApp({
      AUTH_MODE: 'api-key',
      API_KEYS_FILE: keysFile,
      BACKEND_URL: backend.url,
      BACKEND_TIMEOUT_MS: '1000',
      ADJUSTMENT_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      MAX_PENDING_ADJUSTMENTS_PER_TENANT: String(MAX_PENDING),
    });
  });

  afterAll(async () => {
    await sandbox.close();
    await backend.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it("refuses another tenant's execution_id with 404 EXECUTION_NOT_FOUND, as an unknown one, delivering nothing", async () => {
    const alices = await sandbox.http
      .post('/execute?wait=true')
      .set(auth(KEYS.alice))
      .send({ code: 'print(1)' })
      .expect(200);
    const executionId = (alices.body as { execution_id: string }).execution_id;

    const foreign = await adjust(KEYS.bob, { ...EXAMPLE, execution_id: executionId }).expect(404);
    const unknown = await adjust(KEYS.bob, { ...EXAMPLE, execution_id: randomUUID() }).expect(404);
    expect(foreign.body).toMatchObject({ status: 404, code: 'EXECUTION_NOT_FOUND' });
    expect((unknown.body as Problem).code).toBe('EXECUTION_NOT_FOUND');
    const listed = await sandbox.http.get('/adjustments').set(auth(KEYS.bob)).expect(200);
    expect((listed.body as AdjustmentListDto).total).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(backend.adjustmentRequests).toHaveLength(0);

    // Its own tenant may name it.
    const own = await adjust(KEYS.alice, { ...EXAMPLE, execution_id: executionId }).expect(202);
    const id = (own.body as AdjustmentAcceptedDto).adjustment_id;
    await eventuallySettled(KEYS.alice);
    expect(backend.requestsFor(id)[0].body).toMatchObject({ execution_id: executionId });
  });

  it('answers 429 RATE_LIMITED with Retry-After and RateLimit-* once a tenant used its minute', async () => {
    for (let i = 0; i < RATE_LIMIT; i += 1) {
      const accepted = await adjust(KEYS.carol).expect(202);
      expect(accepted.headers['ratelimit-limit']).toBe(String(RATE_LIMIT));
      expect(accepted.headers['ratelimit-remaining']).toBe(String(RATE_LIMIT - i - 1));
      // Delivered before the next: the cap of pending ones is not what this spec tries.
      await eventuallySettled(KEYS.carol);
    }
    const refused = await adjust(KEYS.carol).expect(429);
    expect(refused.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThan(0);
    // Another tenant goes on.
    await adjust(KEYS.dave).expect(202);
  });

  it('answers 429 TOO_MANY_PENDING_ADJUSTMENTS with Retry-After while the tenant has its cap undelivered', async () => {
    // dave sent one already: delivered before the backend slows down.
    await eventuallySettled(KEYS.dave);
    // Each attempt times out after BACKEND_TIMEOUT_MS: the adjustments stay pending.
    backend.adjustmentBehaviour = { delayMs: 5000 };
    for (let i = 0; i < MAX_PENDING; i += 1) {
      await adjust(KEYS.dave).expect(202);
    }
    const refused = await adjust(KEYS.dave).expect(429);
    expect(refused.body).toMatchObject({ status: 429, code: 'TOO_MANY_PENDING_ADJUSTMENTS' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    const listed = await sandbox.http.get('/adjustments?limit=100').set(auth(KEYS.dave));
    expect((listed.body as AdjustmentListDto).total).toBe(MAX_PENDING + 1);
    backend.adjustmentBehaviour = 'ok';
  });

  /** Waits until none of this key's adjustments is pending. */
  async function eventuallySettled(key: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const page = (await sandbox.http.get('/adjustments?limit=100').set(auth(key)))
        .body as AdjustmentListDto;
      if (page.items.every(settled)) return;
      if (Date.now() > deadline) throw new Error('adjustments stayed pending');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
});
