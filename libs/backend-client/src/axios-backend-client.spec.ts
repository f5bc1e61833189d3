import { REJECTION_MESSAGE, StandInBackend } from '../../../test/support/stand-in-backend';
import { AxiosBackendClient } from './axios-backend-client';
import { AdjustmentDelivery, BackendRefusedError, BackendUnavailableError } from './backend-client';

const TIMEOUT_MS = 200;

const delivery: AdjustmentDelivery = {
  adjustmentId: '0d6f3c52-7a8e-4f0b-9d55-2b7f7b1e8c90',
  processorId: 'processor 123/x',
  adjustments: { parameter_x: 'new_value' },
  reason: 'Performance improvement based on execution results',
  executionId: 'execution-1',
  createdAt: new Date('2030-01-01T00:00:00.000Z'),
};

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
      expect(await client.fetchProcessor('processor 123/x', null)).toEqual({
        processor_id: 'processor 123/x',
        code: 'print(1)',
      });
    });

    it("asks with the caller's token when given, else with the service's own", async () => {
      backend.setProcessor('p-auth', 'print(1)');
      await client.fetchProcessor('p-auth', 'caller-token');
      await client.fetchProcessor('p-auth', null);
      expect(backend.processorAuthorizations.slice(-2)).toEqual([
        'Bearer caller-token',
        'Bearer service-token',
      ]);
    });

    it('throws BackendRefusedError when the backend refuses this caller', async () => {
      backend.setProcessor('p-auth', 'print(1)');
      backend.refusedTokens.add('refused-token');
      await expect(client.fetchProcessor('p-auth', 'refused-token')).rejects.toBeInstanceOf(
        BackendRefusedError,
      );
    });

    it('gives null for a processor the backend does not know', async () => {
      expect(await client.fetchProcessor('processor-unknown', null)).toBeNull();
    });

    it('throws BackendUnavailableError saying what happened when the backend is down', async () => {
      await backend.stop();
      try {
        const fetching = client.fetchProcessor('processor 123/x', null);
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
    it('posts the adjustment as JSON with its id as Idempotency-Key', async () => {
      expect(await client.deliverAdjustment(delivery)).toEqual({ kind: 'delivered', status: 201 });
      const [received] = backend.requestsFor(delivery.adjustmentId);
      expect(received.path).toBe('/api/processors/processor%20123%2Fx/adjustments');
      expect(received.headers['idempotency-key']).toBe(delivery.adjustmentId);
      expect(received.headers['content-type']).toContain('application/json');
      expect(received.body).toEqual({
        adjustment_id: delivery.adjustmentId,
        processor_id: 'processor 123/x',
        adjustments: { parameter_x: 'new_value' },
        reason: 'Performance improvement based on execution results',
        execution_id: 'execution-1',
        created_at: '2030-01-01T00:00:00.000Z',
      });
    });

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
      backend.adjustmentBehaviour = { delayMs: TIMEOUT_MS * 5 };
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
