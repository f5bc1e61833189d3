import type {
  AdjustmentPage,
  AdjustmentRecord,
  AdjustmentStatus,
  ExecutionRecord,
} from '@brain-net/store';
import { InMemoryExecutionStore } from '@brain-net/store/testing/in-memory-execution-store';
import { Caller, Scope } from '../auth/caller';
import { loadConfig } from '../config/app-config';
import { DomainError, ErrorCode } from '../errors/domain-error';
import { RawJson } from '../http/json-body';
import { AdjustmentAdmission, AdjustmentOutbox } from './adjustment-outbox';
import { AdjustmentService, MAX_ADJUSTMENTS_BYTES, keyedAdjustmentId } from './adjustment.service';
import { AdjustProcessorRequestDto } from './dto/adjust-processor-request.dto';

/** The port's contract in a Map: what an id already holds is answered, replayed. */
class MapOutbox extends AdjustmentOutbox {
  readonly records = new Map<string, AdjustmentRecord>();
  failing = false;

  accept(record: AdjustmentRecord, maxPending: number): Promise<AdjustmentAdmission> {
    return this.answer(() => {
      const earlier = this.records.get(record.id);
      if (earlier) return { record: earlier, replayed: true };
      const pending = [...this.records.values()].filter(
        (other) => other.tenant === record.tenant && other.status === 'pending',
      ).length;
      if (pending >= maxPending) return { refused: 'too-many-pending' as const, pending };
      this.records.set(record.id, record);
      return { record, replayed: false };
    });
  }

  get(id: string): Promise<AdjustmentRecord | undefined> {
    return this.answer(() => this.records.get(id));
  }

  list(offset: number, limit: number, tenant: string | null): Promise<AdjustmentPage> {
    return this.answer(() => {
      const items = [...this.records.values()]
        .filter((record) => tenant === null || record.tenant === tenant)
        .reverse();
      return { items: items.slice(offset, offset + limit), total: items.length };
    });
  }

  countByStatus(): Promise<Record<AdjustmentStatus, number>> {
    return this.answer(() => ({ pending: this.records.size, delivered: 0, failed: 0 }));
  }

  // Delivery is the adapters' own concern (their specs): nothing is delivered here.
  start(): void {}

  stop(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private answer<T>(read: () => T): Promise<T> {
    return this.failing
      ? Promise.reject(new Error('Connection is closed.'))
      : Promise.resolve(read());
  }
}

function caller(tenant = 'acme', scopes: Scope[] = ['adjust']): Caller {
  return { tenant, subject: `key-of-${tenant}`, scopes: new Set(scopes), bearerToken: null };
}

/** adjustments as the body parser hands them over: the exact JSON text. */
const json = (text: string) => new RawJson(text, 'object');

function request(fields: Partial<AdjustProcessorRequestDto> = {}): AdjustProcessorRequestDto {
  return Object.assign(new AdjustProcessorRequestDto(), {
    processor_id: 'processor-123',
    adjustments: json('{"parameter_x": "new_value", "optimization": "enabled"}'),
    reason: 'faster',
    ...fields,
  });
}

/** A finished execution of `tenant`, as the store holds it. */
function execution(id: string, tenant: string): ExecutionRecord {
  return {
    id,
    tenant,
    createdBy: `key-of-${tenant}`,
    requestId: 'r',
    processorId: null,
    debugMode: false,
    timeoutS: 5,
    limits: loadConfig({}).limits,
    queuedAt: new Date(),
    status: 'completed',
    startedAt: new Date(),
    endedAt: new Date(),
    stdout: '',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    exitCode: 0,
    error: null,
    oomKilled: false,
    exceptions: [],
    variablesAfter: null,
    timings: null,
    codeMs: null,
    usage: null,
    imageId: null,
    inputFiles: [],
    outputFiles: null,
    figures: null,
    profileRequested: false,
    profile: null,
    runtime: 'python-3.11',
    moduleHint: null,
    callbackUrl: null,
    batchId: null,
    batchIndex: null,
    sharedContainer: false,
    pruned: false,
  };
}

async function refusal(pending: Promise<unknown>): Promise<DomainError> {
  const error = await pending.then(
    () => null,
    (reason: unknown) => reason,
  );
  if (!(error instanceof DomainError))
    throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

/** Execution ids, UUIDs as admission makes them. */
const ACME_RUN = '0b7c6f1e-1111-4a59-9f7e-0a8f1a2b3c4d';
const GLOBEX_RUN = '0b7c6f1e-2222-4a59-9f7e-0a8f1a2b3c4d';

describe('AdjustmentService', () => {
  let outbox: MapOutbox;
  let executions: InMemoryExecutionStore;
  let service: AdjustmentService;

  beforeEach(async () => {
    outbox = new MapOutbox();
    executions = new InMemoryExecutionStore();
    await executions.create(execution(ACME_RUN, 'acme'), { code: '', inputJson: '{}' });
    await executions.create(execution(GLOBEX_RUN, 'globex'), { code: '', inputJson: '{}' });
    service = new AdjustmentService(
      outbox,
      executions,
      loadConfig({ MAX_PENDING_ADJUSTMENTS_PER_TENANT: '3' }),
    );
  });

  it('stores a new pending adjustment under a random id without a key', async () => {
    const first = await service.accept(request(), caller());
    const second = await service.accept(request(), caller());
    expect(first).toMatchObject({ replayed: false, record: { status: 'pending', attempts: 0 } });
    expect(first.record.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.record.id).not.toBe(first.record.id);
    expect(outbox.records.size).toBe(2);
  });

  it('answers a repeat with the same Idempotency-Key with the first adjustment, replayed', async () => {
    const first = await service.accept(request(), caller(), 'key-1');
    // The same adjustment, its JSON spelled in another order, with other spacing.
    const repeat = await service.accept(
      request({ adjustments: json('{ "optimization":"enabled","parameter_x":\n"new_value" }') }),
      caller(),
      'key-1',
    );
    expect(first.replayed).toBe(false);
    expect(repeat).toEqual({ record: first.record, replayed: true });
    expect(outbox.records.size).toBe(1);
    expect(first.record.id).toBe(keyedAdjustmentId('acme', 'key-1'));
  });

  it('keys by tenant: another tenant with the same key gets an adjustment of its own', async () => {
    const mine = await service.accept(request(), caller('acme'), 'key-1');
    const theirs = await service.accept(request(), caller('globex'), 'key-1');
    expect(theirs.replayed).toBe(false);
    expect(theirs.record.id).not.toBe(mine.record.id);
  });

  it('refuses the same key for a different adjustment with 422 IDEMPOTENCY_KEY_REUSED', async () => {
    await service.accept(request(), caller(), 'key-1');
    const cases: Partial<AdjustProcessorRequestDto>[] = [
      { processor_id: 'processor-456' },
      { adjustments: json('{"parameter_x": "other"}') },
      { adjustments: json('{"parameter_x": "new_value", "optimization": "enabled", "x": 1}') },
      { reason: 'slower' },
      { execution_id: ACME_RUN },
    ];
    for (const fields of cases) {
      const error = await refusal(service.accept(request(fields), caller(), 'key-1'));
      expect(error.code).toBe<ErrorCode>('IDEMPOTENCY_KEY_REUSED');
    }
    expect(outbox.records.size).toBe(1);
  });

  it('stores the adjustments as the exact text they came as, keys such as __proto__ included', async () => {
    const text = '{"constructor": 1, "__proto__": {"x": 1}, "toString": "a", "n": 1.50}';
    const { record } = await service.accept(request({ adjustments: json(text) }), caller());
    expect(record.adjustments).toBe(text);
    expect(outbox.records.get(record.id)?.adjustments).toBe(text);
  });

  it('tells two adjustments apart by a __proto__ key, and repeats of one alike', async () => {
    const proto = '{"__proto__": {"x": 1}}';
    const first = await service.accept(request({ adjustments: json(proto) }), caller(), 'k');
    const repeat = await service.accept(
      request({ adjustments: json('{ "__proto__" : { "x" : 1 } }') }),
      caller(),
      'k',
    );
    expect(repeat).toEqual({ record: first.record, replayed: true });
    const other = await refusal(
      service.accept(request({ adjustments: json('{"__proto__": {"x": 2}}') }), caller(), 'k'),
    );
    expect(other.code).toBe<ErrorCode>('IDEMPOTENCY_KEY_REUSED');
  });

  it("names the tenant's own execution; an admin's, any tenant's", async () => {
    const mine = await service.accept(request({ execution_id: ACME_RUN }), caller('acme'));
    expect(mine.record.executionId).toBe(ACME_RUN);
    const admins = await service.accept(
      request({ execution_id: ACME_RUN }),
      caller('ops', ['admin']),
    );
    expect(admins.record.executionId).toBe(ACME_RUN);
  });

  it("refuses another tenant's execution_id as EXECUTION_NOT_FOUND, as an unknown one, storing nothing", async () => {
    const foreign = await refusal(
      service.accept(request({ execution_id: GLOBEX_RUN }), caller('acme'), 'key-1'),
    );
    const unknown = await refusal(
      service.accept(
        request({ execution_id: '00000000-0000-4000-8000-000000000000' }),
        caller('acme'),
      ),
    );
    expect(foreign.code).toBe<ErrorCode>('EXECUTION_NOT_FOUND');
    expect(foreign.status).toBe(404);
    expect(unknown.code).toBe(foreign.code);
    expect(foreign.message).toBe(`No execution has id ${GLOBEX_RUN}.`);
    expect(outbox.records.size).toBe(0);
  });

  it('answers 503 STORE_UNAVAILABLE when the execution cannot be looked up', async () => {
    executions.broken = true;
    const error = await refusal(service.accept(request({ execution_id: ACME_RUN }), caller()));
    expect(error.code).toBe<ErrorCode>('STORE_UNAVAILABLE');
    expect(outbox.records.size).toBe(0);
  });

  it('refuses a tenant at its cap of pending adjustments with 429 and Retry-After; replays and other tenants go on', async () => {
    const first = await service.accept(request(), caller('acme'), 'key-1');
    await service.accept(request(), caller('acme'));
    await service.accept(request(), caller('acme'));
    const full = await refusal(service.accept(request(), caller('acme')));
    expect(full.code).toBe<ErrorCode>('TOO_MANY_PENDING_ADJUSTMENTS');
    expect(full.status).toBe(429);
    expect(full.details.retryAfterS).toBeGreaterThan(0);
    expect(full.message).toContain('3 adjustments waiting for delivery');
    expect(await service.accept(request(), caller('acme'), 'key-1')).toEqual({
      record: first.record,
      replayed: true,
    });
    expect((await service.accept(request(), caller('globex'))).replayed).toBe(false);
    expect(outbox.records.size).toBe(4);

    // Delivered: no longer pending.
    outbox.records.set(first.record.id, { ...first.record, status: 'delivered' });
    expect((await service.accept(request(), caller('acme'))).replayed).toBe(false);
  });

  it.each(['', 'with space', 'ü', 'x'.repeat(201)])(
    'refuses the malformed key %j with 400 VALIDATION_FAILED',
    async (key) => {
      const error = await refusal(service.accept(request(), caller(), key));
      expect(error.code).toBe<ErrorCode>('VALIDATION_FAILED');
      expect(outbox.records.size).toBe(0);
    },
  );

  it('makes UUID-shaped ids of keys, one per tenant and key', () => {
    const id = keyedAdjustmentId('acme', 'key-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(keyedAdjustmentId('acme', 'key-1')).toBe(id);
    expect(keyedAdjustmentId('acme', 'key-2')).not.toBe(id);
    // No separator to play with: the tenant and key are never run together.
    expect(keyedAdjustmentId('ac', 'mekey-1')).not.toBe(id);
  });

  it("answers another tenant's adjustment as unknown, and shows it to an admin", async () => {
    const { record } = await service.accept(request(), caller('acme'));
    const error = await refusal(service.get(record.id, caller('globex')));
    expect(error.code).toBe<ErrorCode>('ADJUSTMENT_NOT_FOUND');
    expect((await refusal(service.get('unknown', caller('acme')))).code).toBe<ErrorCode>(
      'ADJUSTMENT_NOT_FOUND',
    );
    expect(await service.get(record.id, caller('globex', ['admin']))).toEqual(record);
  });

  it("lists the caller's tenant's adjustments; an admin's, any tenant's", async () => {
    await service.accept(request(), caller('acme'));
    await service.accept(request(), caller('globex'));
    expect((await service.list(1, 10, caller('acme'), 'globex')).items).toHaveLength(1);
    expect((await service.list(1, 10, caller('acme'), 'globex')).items[0].tenant).toBe('acme');
    expect((await service.list(1, 10, caller('x', ['admin']))).total).toBe(2);
    expect((await service.list(1, 10, caller('x', ['admin']), 'globex')).total).toBe(1);
  });

  it('answers 503 STORE_UNAVAILABLE while the outbox fails', async () => {
    outbox.failing = true;
    for (const pending of [
      () => service.accept(request(), caller()),
      () => service.get(ACME_RUN, caller()),
      () => service.list(1, 10, caller()),
    ]) {
      expect((await refusal(pending())).code).toBe<ErrorCode>('STORE_UNAVAILABLE');
    }
  });

  it('answers what is not an id as unknown without asking the outbox', async () => {
    outbox.failing = true;
    for (const id of ['any', `${ACME_RUN}:x`, ACME_RUN.toUpperCase()]) {
      expect((await refusal(service.get(id, caller()))).code).toBe<ErrorCode>(
        'ADJUSTMENT_NOT_FOUND',
      );
      const unknownRun = await refusal(service.accept(request({ execution_id: id }), caller()));
      expect(unknownRun.code).toBe<ErrorCode>('EXECUTION_NOT_FOUND');
    }
  });

  it('refuses adjustments over MAX_ADJUSTMENTS_BYTES with 413, storing nothing', async () => {
    const big = json(`{"x": "${'a'.repeat(MAX_ADJUSTMENTS_BYTES)}"}`);
    const error = await refusal(service.accept(request({ adjustments: big }), caller()));
    expect(error.code).toBe<ErrorCode>('PAYLOAD_TOO_LARGE');
    expect(error.status).toBe(413);
    expect(outbox.records.size).toBe(0);
  });
});
