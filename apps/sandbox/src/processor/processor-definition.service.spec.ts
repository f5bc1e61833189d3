import {
  AdjustmentDelivery,
  BackendClient,
  BackendRefusedError,
  BackendUnavailableError,
  DeliveryAnswer,
  ProcessorDefinition,
} from '@brain-net/backend-client';
import { loadConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { ProcessorDefinitionService } from './processor-definition.service';

/** A backend that knows the processors it is given, or is down. Counts fetches. */
class FakeBackendClient extends BackendClient {
  readonly processors = new Map<string, string>();
  down = false;
  fetches = 0;
  /** Callers' tokens the backend refuses to run processors for. */
  readonly refusedTokens = new Set<string>();

  fetchProcessor(
    processorId: string,
    bearerToken: string | null,
  ): Promise<ProcessorDefinition | null> {
    this.fetches += 1;
    if (this.down) return Promise.reject(new BackendUnavailableError('connect ECONNREFUSED'));
    if (bearerToken !== null && this.refusedTokens.has(bearerToken)) {
      return Promise.reject(new BackendRefusedError(403, 'GET /x answered 403'));
    }
    const code = this.processors.get(processorId);
    return Promise.resolve(code === undefined ? null : { processor_id: processorId, code });
  }

  deliverAdjustment(_delivery: AdjustmentDelivery): Promise<DeliveryAnswer> {
    return Promise.reject(new Error('not used by ProcessorDefinitionService'));
  }
}

function serviceWith(backend: FakeBackendClient, cacheTtlS: number): ProcessorDefinitionService {
  const config = loadConfig({
    BACKEND_URL: 'http://backend.test:8000',
    PROCESSOR_CACHE_TTL_S: String(cacheTtlS),
  });
  return new ProcessorDefinitionService(backend, config);
}

async function domainErrorOf(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  if (!(error instanceof DomainError))
    throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

describe('ProcessorDefinitionService', () => {
  let backend: FakeBackendClient;

  beforeEach(() => {
    backend = new FakeBackendClient();
    backend.processors.set('processor-123', 'print("v1")');
    jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
  });

  afterEach(() => jest.useRealTimers());

  it("gives the processor's code from the backend", async () => {
    expect(await serviceWith(backend, 30).getCode('processor-123', null)).toBe('print("v1")');
  });

  it('reuses a fetched definition until the cache TTL has passed', async () => {
    const service = serviceWith(backend, 30);
    await service.getCode('processor-123', null);
    backend.processors.set('processor-123', 'print("v2")');

    jest.advanceTimersByTime(29_999);
    expect(await service.getCode('processor-123', null)).toBe('print("v1")');
    expect(backend.fetches).toBe(1);

    jest.advanceTimersByTime(1);
    expect(await service.getCode('processor-123', null)).toBe('print("v2")');
    expect(backend.fetches).toBe(2);
  });

  it('asks the backend every time when the TTL is 0', async () => {
    const service = serviceWith(backend, 0);
    await service.getCode('processor-123', null);
    await service.getCode('processor-123', null);
    expect(backend.fetches).toBe(2);
  });

  it('keeps processors apart in the cache', async () => {
    backend.processors.set('processor-456', 'print("other")');
    const service = serviceWith(backend, 30);
    expect(await service.getCode('processor-123', null)).toBe('print("v1")');
    expect(await service.getCode('processor-456', null)).toBe('print("other")');
  });

  it('answers PROCESSOR_NOT_FOUND for a processor the backend does not know, and does not cache it', async () => {
    const service = serviceWith(backend, 30);
    const error = await domainErrorOf(service.getCode('processor-999', null));
    expect(error.code).toBe('PROCESSOR_NOT_FOUND');
    expect(error.message).toBe('No processor processor-999 on the backend.');

    backend.processors.set('processor-999', 'print("new")');
    expect(await service.getCode('processor-999', null)).toBe('print("new")');
  });

  it('answers BACKEND_UNAVAILABLE naming the backend and the cause when it cannot be reached', async () => {
    backend.down = true;
    const service = serviceWith(backend, 30);
    const error = await domainErrorOf(service.getCode('processor-123', null));
    expect(error.code).toBe('BACKEND_UNAVAILABLE');
    expect(error.message).toBe(
      'The backend at http://backend.test:8000 could not be reached: connect ECONNREFUSED',
    );

    backend.down = false;
    expect(await service.getCode('processor-123', null)).toBe('print("v1")');
  });

  it("asks the backend again for each fetch on a caller's behalf: it decides who may run what", async () => {
    const service = serviceWith(backend, 30);
    await service.getCode('processor-123', 'token-a');
    await service.getCode('processor-123', 'token-a');
    expect(backend.fetches).toBe(2);
  });

  it('answers FORBIDDEN when the backend refuses this caller the processor', async () => {
    backend.refusedTokens.add('token-b');
    const error = await domainErrorOf(serviceWith(backend, 30).getCode('processor-123', 'token-b'));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain('processor-123');
  });

  it('lets unexpected errors through as they are', async () => {
    const bug = new TypeError('a bug');
    jest.spyOn(backend, 'fetchProcessor').mockRejectedValue(bug);
    await expect(serviceWith(backend, 30).getCode('processor-123', null)).rejects.toBe(bug);
  });
});
