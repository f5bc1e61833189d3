import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type TestAgent from 'supertest/lib/agent';
import type {
  AdjustmentAcceptedDto,
  AdjustmentDto,
  AdjustmentListDto,
} from '../apps/sandbox/src/adjustment/dto/adjustment.dto';
import { REJECTION_MESSAGE, StandInBackend } from './support/stand-in-backend';
import { SandboxApp, pollUntil, startSandboxApp } from './support/sandbox-app';

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
  let sandbox: SandboxApp;

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
    sandbox = await startSandboxApp(env);
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
    expect(received[0].body).toEqual({
      adjustment_id: id,
      ...EXAMPLE,
      execution_id: null,
      created_at: adjustment.created_at,
    });
  });

  it('passes execution_id on to the backend', async () => {
    const id = await accept({ ...EXAMPLE, execution_id: 'execution-42' });
    const adjustment = await waitForAdjustment(sandbox.http, id, settled);
    expect(adjustment).toMatchObject({ status: 'delivered', execution_id: 'execution-42' });
    expect(backend.requestsFor(id)[0].body).toMatchObject({ execution_id: 'execution-42' });
  });

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
      const before = await startSandboxApp(fileEnv);
      const response = await before.http.post('/adjust-processor').send(EXAMPLE).expect(202);
      const id = (response.body as AdjustmentAcceptedDto).adjustment_id;
      await waitForAdjustment(before.http, id, (a) => a.attempts > 0);
      await before.close();

      await backend.start();
      const after = await startSandboxApp(fileEnv);
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
