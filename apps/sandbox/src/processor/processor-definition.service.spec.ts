import { Logger } from '@nestjs/common';
import {
  AdjustmentDelivery,
  BackendClient,
  BackendRefusedError,
  BackendUnavailableError,
  DeliveryAnswer,
  OnBehalfOf,
  ProcessorDefinition,
} from '@brain-net/backend-client';
import { Caller, Scope } from '../auth/caller';
import { loadConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import {
  BACKEND_UNAVAILABLE_MESSAGE,
  PROCESSOR_CACHE_MAX_ENTRIES,
  ProcessorDefinitionService,
} from './processor-definition.service';

const BACKEND_URL = 'http://backend.test:8000';
/** Something only the backend's error body says: it must not reach the caller. */
const BACKEND_SECRET = 'db password is hunter2';

/**
 * A backend that knows the processors it is given, per tenant, or is down. Records
 * on whose behalf each fetch was made.
 */
class FakeBackendClient extends BackendClient {
  /** Code by processor id, for every tenant. */
  readonly processors = new Map<string, string>();
  /** Code by tenant and processor id, ahead of `processors`. */
  readonly tenantProcessors = new Map<string, string>();
  down = false;
  readonly fetches: OnBehalfOf[] = [];
  /** Callers' tokens the backend refuses to run processors for. */
  readonly refusedTokens = new Set<string>();

  fetchProcessor(processorId: string, onBehalfOf: OnBehalfOf): Promise<ProcessorDefinition | null> {
    this.fetches.push({ ...onBehalfOf });
    if (this.down) {
      return Promise.reject(
        new BackendUnavailableError(
          `GET /api/processors/${processorId} answered 500: ${BACKEND_SECRET}`,
        ),
      );
    }
    const { bearerToken, tenant } = onBehalfOf;
    if (bearerToken !== null && this.refusedTokens.has(bearerToken)) {
      return Promise.reject(new BackendRefusedError(403, 'GET /x answered 403'));
    }
    const code =
      this.tenantProcessors.get(`${tenant}/${processorId}`) ?? this.processors.get(processorId);
    return Promise.resolve(code === undefined ? null : { processor_id: processorId, code });
  }

  deliverAdjustment(_delivery: AdjustmentDelivery): Promise<DeliveryAnswer> {
    return Promise.reject(new Error('not used by ProcessorDefinitionService'));
  }
}

function serviceWith(
  backend: FakeBackendClient,
  cacheTtlS: number,
  env: Record<string, string> = {},
): ProcessorDefinitionService {
  const config = loadConfig({
    BACKEND_URL,
    PROCESSOR_CACHE_TTL_S: String(cacheTtlS),
    ...env,
  });
  return new ProcessorDefinitionService(backend, config);
}

/** A caller without a token of its own (api-key or none mode): fetches use the service token. */
function keyCaller(tenant = 'tenant-a', subject = 'key-a'): Caller {
  return { tenant, subject, scopes: new Set<Scope>(['execute']), bearerToken: null };
}

/** A caller with its own bearer token (jwt mode). */
function tokenCaller(token: string, tenant = 'tenant-a', subject = 'user-a'): Caller {
  return { tenant, subject, scopes: new Set<Scope>(['execute']), bearerToken: token };
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
  let warn: jest.SpyInstance;

  beforeEach(() => {
    backend = new FakeBackendClient();
    backend.processors.set('processor-123', 'print("v1")');
    // lru-cache keeps the real `performance` it found when loaded: make it follow the fake clock.
    jest.spyOn(performance, 'now').mockImplementation(() => Date.now());
    jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it("gives the processor's code from the backend", async () => {
    expect(await serviceWith(backend, 30).getCode('processor-123', keyCaller())).toBe(
      'print("v1")',
    );
  });

  it("names the caller's tenant and subject on each fetch, with its token if it has one", async () => {
    const service = serviceWith(backend, 0);
    await service.getCode('processor-123', keyCaller('tenant-a', 'key-a'));
    await service.getCode('processor-123', tokenCaller('token-b', 'tenant-b', 'user-b'));
    expect(backend.fetches).toEqual([
      {
        tenant: 'tenant-a',
        subject: 'key-a',
        bearerToken: null,
        scopes: expect.any(Set) as unknown,
      },
      {
        tenant: 'tenant-b',
        subject: 'user-b',
        bearerToken: 'token-b',
        scopes: expect.any(Set) as unknown,
      },
    ]);
  });

  it('reuses a fetched definition until the cache TTL has passed', async () => {
    const service = serviceWith(backend, 30);
    await service.getCode('processor-123', keyCaller());
    backend.processors.set('processor-123', 'print("v2")');

    // lru-cache's boundary: an entry is stale once its age exceeds the TTL.
    jest.advanceTimersByTime(30_000);
    expect(await service.getCode('processor-123', keyCaller())).toBe('print("v1")');
    expect(backend.fetches).toHaveLength(1);

    jest.advanceTimersByTime(1);
    expect(await service.getCode('processor-123', keyCaller())).toBe('print("v2")');
    expect(backend.fetches).toHaveLength(2);
  });

  it('reuses a definition within its tenant, whoever in it asks', async () => {
    const service = serviceWith(backend, 30);
    await service.getCode('processor-123', keyCaller('tenant-a', 'key-1'));
    await service.getCode('processor-123', keyCaller('tenant-a', 'key-2'));
    expect(backend.fetches).toHaveLength(1);
  });

  it("never gives one tenant the definition fetched for another: each tenant's is fetched for it", async () => {
    backend.tenantProcessors.set('tenant-a/processor-123', 'print("a")');
    backend.tenantProcessors.set('tenant-b/processor-123', 'print("b")');
    const service = serviceWith(backend, 30);
    expect(await service.getCode('processor-123', keyCaller('tenant-a'))).toBe('print("a")');
    expect(await service.getCode('processor-123', keyCaller('tenant-b'))).toBe('print("b")');
    expect(backend.fetches.map((fetch) => fetch.tenant)).toEqual(['tenant-a', 'tenant-b']);
  });

  it('keeps tenant and id apart in the cache key: tenant "a" and id "b:c" is not tenant "a:b" and id "c"', async () => {
    backend.processors.set('b:c', 'print("b:c of a")');
    backend.processors.set('c', 'print("c of a:b")');
    const service = serviceWith(backend, 30);
    expect(await service.getCode('b:c', keyCaller('a'))).toBe('print("b:c of a")');
    expect(await service.getCode('c', keyCaller('a:b'))).toBe('print("c of a:b")');
  });

  it('keeps at most PROCESSOR_CACHE_MAX_ENTRIES definitions, dropping the least recently used', async () => {
    const service = serviceWith(backend, 30);
    const fetchEach = async (ids: string[]) => {
      for (const id of ids) await service.getCode(id, keyCaller());
    };
    const ids = Array.from({ length: PROCESSOR_CACHE_MAX_ENTRIES + 1 }, (_, i) => `processor-${i}`);
    for (const id of ids) backend.processors.set(id, `print("${id}")`);

    await fetchEach(ids.slice(0, PROCESSOR_CACHE_MAX_ENTRIES));
    await fetchEach(['processor-0']);
    expect(backend.fetches).toHaveLength(PROCESSOR_CACHE_MAX_ENTRIES);

    // One id more: processor-1, used least recently, makes room.
    await fetchEach([ids[PROCESSOR_CACHE_MAX_ENTRIES], 'processor-0']);
    expect(backend.fetches).toHaveLength(PROCESSOR_CACHE_MAX_ENTRIES + 1);
    await fetchEach(['processor-1']);
    expect(backend.fetches).toHaveLength(PROCESSOR_CACHE_MAX_ENTRIES + 2);
  });

  it('asks the backend every time when the TTL is 0', async () => {
    const service = serviceWith(backend, 0);
    await service.getCode('processor-123', keyCaller());
    await service.getCode('processor-123', keyCaller());
    expect(backend.fetches).toHaveLength(2);
  });

  it('keeps processors apart in the cache', async () => {
    backend.processors.set('processor-456', 'print("other")');
    const service = serviceWith(backend, 30);
    expect(await service.getCode('processor-123', keyCaller())).toBe('print("v1")');
    expect(await service.getCode('processor-456', keyCaller())).toBe('print("other")');
  });

  it('answers PROCESSOR_NOT_FOUND for a processor the backend does not know, and does not cache it', async () => {
    const service = serviceWith(backend, 30);
    const error = await domainErrorOf(service.getCode('processor-999', keyCaller()));
    expect(error.code).toBe('PROCESSOR_NOT_FOUND');
    expect(error.message).toBe('No processor processor-999 on the backend.');

    backend.processors.set('processor-999', 'print("new")');
    expect(await service.getCode('processor-999', keyCaller())).toBe('print("new")');
  });

  it('answers BACKEND_UNAVAILABLE with a generic message, and logs the details', async () => {
    backend.down = true;
    const service = serviceWith(backend, 30);
    const error = await domainErrorOf(service.getCode('processor-123', keyCaller()));
    expect(error.code).toBe('BACKEND_UNAVAILABLE');
    expect(error.message).toBe(BACKEND_UNAVAILABLE_MESSAGE);
    expect(error.message).not.toContain(BACKEND_URL);
    expect(error.message).not.toContain(BACKEND_SECRET);
    expect(warn).toHaveBeenCalledTimes(1);
    const [logged] = warn.mock.calls[0] as unknown[];
    expect(logged).toEqual(expect.stringContaining(BACKEND_URL));
    expect(logged).toEqual(expect.stringContaining(`answered 500: ${BACKEND_SECRET}`));
    expect(logged).toEqual(expect.stringContaining('processor-123'));

    backend.down = false;
    expect(await service.getCode('processor-123', keyCaller())).toBe('print("v1")');
  });

  it("asks the backend again for each fetch on a caller's behalf: it decides who may run what", async () => {
    const service = serviceWith(backend, 30);
    await service.getCode('processor-123', tokenCaller('token-a'));
    await service.getCode('processor-123', tokenCaller('token-a'));
    expect(backend.fetches).toHaveLength(2);
  });

  it('answers FORBIDDEN when the backend refuses this caller the processor', async () => {
    backend.refusedTokens.add('token-b');
    const error = await domainErrorOf(
      serviceWith(backend, 30).getCode('processor-123', tokenCaller('token-b')),
    );
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain('processor-123');
  });

  describe('with PROCESSOR_FETCH_WITH_SERVICE_TOKEN=false', () => {
    const env = { PROCESSOR_FETCH_WITH_SERVICE_TOKEN: 'false' };

    it('answers FORBIDDEN to a caller without a token of its own, and fetches nothing', async () => {
      const error = await domainErrorOf(
        serviceWith(backend, 30, env).getCode('processor-123', keyCaller()),
      );
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('processor-123');
      expect(error.message).toContain('bearer token of their own');
      expect(backend.fetches).toHaveLength(0);
    });

    it('still fetches for a caller with its own token', async () => {
      const service = serviceWith(backend, 30, env);
      expect(await service.getCode('processor-123', tokenCaller('token-a'))).toBe('print("v1")');
      expect(backend.fetches).toHaveLength(1);
    });
  });

  it('lets unexpected errors through as they are', async () => {
    const bug = new TypeError('a bug');
    jest.spyOn(backend, 'fetchProcessor').mockRejectedValue(bug);
    await expect(serviceWith(backend, 30).getCode('processor-123', keyCaller())).rejects.toBe(bug);
  });
});
