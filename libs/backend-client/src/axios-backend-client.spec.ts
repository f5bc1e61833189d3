import { REJECTION_MESSAGE, StandInBackend } from './testing/stand-in-backend';
import { AxiosBackendClient } from './axios-backend-client';
import {
  AdjustmentDelivery,
  BackendRefusedError,
  BackendUnavailableError,
  OnBehalfOf,
  UnsafeProcessorIdError,
} from './backend-client';

// Long enough for a first request on a loaded 2-core CI machine (200 ms was not).
const TIMEOUT_MS = 1000;

const delivery: AdjustmentDelivery = {
  adjustmentId: '0d6f3c52-7a8e-4f0b-9d55-2b7f7b1e8c90',
  processorId: 'processor 123/x',
  adjustmentsJson: '{"parameter_x": "new_value", "__proto__": {"x": 1}, "constructor": 2}',
  reason: 'Performance improvement based on execution results',
  executionId: 'execution-1',
  createdAt: new Date('2030-01-01T00:00:00.000Z'),
  tenant: 'tenant-a',
  createdBy: 'key-a',
};

/** A caller without a token of its own (api-key mode). */
const KEY_CALLER: OnBehalfOf = { tenant: 'tenant-a', subject: 'key-a', bearerToken: null };

/** The HTTP adapter against a real HTTP server on loopback. */
describe('AxiosBackendClient', () => {
  const backend = new StandInBackend();
  let client: AxiosBackendClient;

  beforeAll(async () => {
    await backend.start();
    client = new AxiosBackendClient({
      baseUrl: backend.url,
      timeoutMs: TIMEOUT_MS,
      processorPath: '/api/processors/{processor_id}',
      adjustmentPath: '/api/processors/{processor_id}/adjustments',
      serviceToken: 'service-token',
    });
  });

  afterAll(() => backend.stop());

  beforeEach(() => {
    backend.adjustmentBehaviour = 'ok';
  });

  describe('fetchProcessor', () => {
    it("gives the processor's definition", async () => {
      backend.setProcessor('processor 123/x', 'print(1)');
      expect(await client.fetchProcessor('processor 123/x', KEY_CALLER)).toEqual({
        processor_id: 'processor 123/x',
        code: 'print(1)',
      });
    });

    it("asks with the caller's token when given, else with the service's own", async () => {
      backend.setProcessor('p-auth', 'print(1)');
      await client.fetchProcessor('p-auth', { ...KEY_CALLER, bearerToken: 'caller-token' });
      await client.fetchProcessor('p-auth', KEY_CALLER);
      expect(backend.processorAuthorizations.slice(-2)).toEqual([
        'Bearer caller-token',
        'Bearer service-token',
      ]);
    });

    it('throws BackendRefusedError when the backend refuses this caller', async () => {
      backend.setProcessor('p-auth', 'print(1)');
      backend.refusedTokens.add('refused-token');
      await expect(
        client.fetchProcessor('p-auth', { ...KEY_CALLER, bearerToken: 'refused-token' }),
      ).rejects.toBeInstanceOf(BackendRefusedError);
    });

    it('names the caller, whichever token the fetch carries', async () => {
      backend.setProcessor('p-named', 'print(1)');
      await client.fetchProcessor('p-named', KEY_CALLER);
      await client.fetchProcessor('p-named', {
        tenant: 'tenant-b',
        subject: 'user-b',
        bearerToken: 'caller-token',
      });
      const [byKey, byToken] = backend.processorFetches.slice(-2).map((fetch) => fetch.headers);
      expect(byKey).toMatchObject({
        authorization: 'Bearer service-token',
        'x-sandbox-tenant': 'tenant-a',
        'x-sandbox-caller': 'key-a',
      });
      expect(byToken).toMatchObject({
        authorization: 'Bearer caller-token',
        'x-sandbox-tenant': 'tenant-b',
        'x-sandbox-caller': 'user-b',
      });
    });

    it('percent-encodes names that could not be header values as they are', async () => {
      backend.setProcessor('p-named', 'print(1)');
      await client.fetchProcessor('p-named', {
        tenant: 'Zürich 1',
        subject: 'user\r\nX-Evil: 1',
        bearerToken: null,
      });
      const [{ headers }] = backend.processorFetches.slice(-1);
      expect(headers['x-sandbox-tenant']).toBe('Z%C3%BCrich%201');
      expect(headers['x-sandbox-caller']).toBe('user%0D%0AX-Evil%3A%201');
      expect(headers['x-evil']).toBeUndefined();
    });

    it.each(['..', '.', ''])(
      'refuses to build a path from the id %j, and sends nothing',
      async (processorId) => {
        const before = backend.requests.length;
        await expect(client.fetchProcessor(processorId, KEY_CALLER)).rejects.toBeInstanceOf(
          UnsafeProcessorIdError,
        );
        expect(backend.requests.length).toBe(before);
      },
    );

    it('refuses a path the URL parser would change, and sends nothing', async () => {
      const folding = new AxiosBackendClient({
        baseUrl: backend.url,
        timeoutMs: TIMEOUT_MS,
        processorPath: '/api/v2/../processors/{processor_id}',
        adjustmentPath: '/api/processors/{processor_id}/adjustments',
        serviceToken: 'service-token',
      });
      const before = backend.requests.length;
      await expect(folding.fetchProcessor('p-1', KEY_CALLER)).rejects.toBeInstanceOf(
        UnsafeProcessorIdError,
      );
      expect(backend.requests.length).toBe(before);
    });

    it('throws BackendUnavailableError with the status and the start of the body on a 5xx', async () => {
      backend.processorFailure = { status: 500, body: { detail: 'x'.repeat(2000) } };
      try {
        const fetching = client.fetchProcessor('p-1', KEY_CALLER);
        await expect(fetching).rejects.toBeInstanceOf(BackendUnavailableError);
        await expect(fetching).rejects.toThrow(/^GET \/api\/processors\/p-1 answered 500: x{500}$/);
      } finally {
        backend.processorFailure = null;
      }
    });

    it('gives null for a processor the backend does not know', async () => {
      expect(await client.fetchProcessor('processor-unknown', KEY_CALLER)).toBeNull();
    });

    it('throws BackendUnavailableError saying what happened when the backend is down', async () => {
      await backend.stop();
      try {
        const fetching = client.fetchProcessor('processor 123/x', KEY_CALLER);
        await expect(fetching).rejects.toBeInstanceOf(BackendUnavailableError);
        // ECONNREFUSED, or "socket hang up" on a kept-alive connection the stop cut.
        await expect(fetching).rejects.toThrow(
          /^GET \/api\/processors\/processor%20123%2Fx failed: ./,
        );
      } finally {
        await backend.start();
      }
    });
  });

  describe('deliverAdjustment', () => {
    it('posts the adjustment as JSON with its id as Idempotency-Key, naming tenant and creator', async () => {
      expect(await client.deliverAdjustment(delivery)).toEqual({ kind: 'delivered', status: 201 });
      const [received] = backend.requestsFor(delivery.adjustmentId);
      expect(received.path).toBe('/api/processors/processor%20123%2Fx/adjustments');
      expect(received.headers['idempotency-key']).toBe(delivery.adjustmentId);
      expect(received.headers['content-type']).toContain('application/json');
      expect(received.headers).toMatchObject({
        authorization: 'Bearer service-token',
        'x-sandbox-tenant': 'tenant-a',
        'x-sandbox-caller': 'key-a',
      });
      // The adjustments byte for byte, keys that name Object.prototype's members included.
      expect(received.text).toContain(`"adjustments":${delivery.adjustmentsJson}`);
      const { adjustments, ...rest } = received.body as Record<string, unknown>;
      expect(Object.keys(adjustments as object)).toEqual([
        'parameter_x',
        '__proto__',
        'constructor',
      ]);
      expect(rest).toEqual({
        adjustment_id: delivery.adjustmentId,
        processor_id: 'processor 123/x',
        reason: 'Performance improvement based on execution results',
        execution_id: 'execution-1',
        created_at: '2030-01-01T00:00:00.000Z',
        tenant: 'tenant-a',
        created_by: 'key-a',
      });
    });

    it.each(['..', '.'])(
      'rejects an adjustment of processor %j for good, unsent',
      async (processorId) => {
        const before = backend.requests.length;
        expect(await client.deliverAdjustment({ ...delivery, processorId })).toEqual({
          kind: 'rejected',
          status: 400,
          message: expect.stringContaining('cannot be put in a backend path') as string,
        });
        expect(backend.requests.length).toBe(before);
      },
    );

    it("calls a 4xx a rejection, with the backend's message", async () => {
      backend.adjustmentBehaviour = 'reject';
      expect(await client.deliverAdjustment(delivery)).toEqual({
        kind: 'rejected',
        status: 400,
        message: REJECTION_MESSAGE,
      });
    });

    it.each([408, 429, 500, 503])('calls a %i worth retrying', async (status) => {
      backend.adjustmentBehaviour = { status };
      expect(await client.deliverAdjustment(delivery)).toEqual({
        kind: 'retryable',
        message: expect.stringContaining(`answered ${status}`) as string,
      });
    });

    it('calls no answer within the timeout worth retrying', async () => {
      backend.adjustmentBehaviour = { delayMs: TIMEOUT_MS * 3 };
      expect(await client.deliverAdjustment(delivery)).toEqual({
        kind: 'retryable',
        message: expect.stringContaining(`no answer within ${TIMEOUT_MS} ms`) as string,
      });
    });

    it('calls a backend that is down worth retrying, without throwing', async () => {
      await backend.stop();
      try {
        expect(await client.deliverAdjustment(delivery)).toEqual({
          kind: 'retryable',
          message: expect.stringMatching(
            /^POST \/api\/processors\/.+\/adjustments failed: ./,
          ) as string,
        });
      } finally {
        await backend.start();
      }
    });
  });
});
