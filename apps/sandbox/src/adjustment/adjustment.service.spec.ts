import type { AdjustmentPage, AdjustmentRecord, AdjustmentStatus } from '@brain-net/store';
import { Caller, Scope } from '../auth/caller';
import { DomainError, ErrorCode } from '../errors/domain-error';
import { AcceptedAdjustment, AdjustmentOutbox } from './adjustment-outbox';
import { AdjustmentService, keyedAdjustmentId } from './adjustment.service';
import { AdjustProcessorRequestDto } from './dto/adjust-processor-request.dto';

/** The port's contract in a Map: what an id already holds is answered, replayed. */
class MapOutbox extends AdjustmentOutbox {
  readonly records = new Map<string, AdjustmentRecord>();
  failing = false;

  accept(record: AdjustmentRecord): Promise<AcceptedAdjustment> {
    return this.answer(() => {
      const earlier = this.records.get(record.id);
      if (earlier) return { record: earlier, replayed: true };
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

  private answer<T>(read: () => T): Promise<T> {
    return this.failing
      ? Promise.reject(new Error('Connection is closed.'))
      : Promise.resolve(read());
  }
}

function caller(tenant = 'acme', scopes: Scope[] = ['adjust']): Caller {
  return { tenant, subject: `key-of-${tenant}`, scopes: new Set(scopes), bearerToken: null };
}

function request(fields: Partial<AdjustProcessorRequestDto> = {}): AdjustProcessorRequestDto {
  return Object.assign(new AdjustProcessorRequestDto(), {
    processor_id: 'processor-123',
    adjustments: { parameter_x: 'new_value', optimization: 'enabled' },
    reason: 'faster',
    ...fields,
  });
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

describe('AdjustmentService', () => {
  let outbox: MapOutbox;
  let service: AdjustmentService;

  beforeEach(() => {
    outbox = new MapOutbox();
    service = new AdjustmentService(outbox);
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
    // The same adjustment, its JSON spelled in another order.
    const repeat = await service.accept(
      request({ adjustments: { optimization: 'enabled', parameter_x: 'new_value' } }),
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
      { adjustments: { parameter_x: 'other' } },
      { reason: 'slower' },
      { execution_id: 'execution-42' },
    ];
    for (const fields of cases) {
      const error = await refusal(service.accept(request(fields), caller(), 'key-1'));
      expect(error.code).toBe<ErrorCode>('IDEMPOTENCY_KEY_REUSED');
    }
    expect(outbox.records.size).toBe(1);
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
      service.accept(request(), caller()),
      service.get('any', caller()),
      service.list(1, 10, caller()),
    ]) {
      expect((await refusal(pending)).code).toBe<ErrorCode>('STORE_UNAVAILABLE');
    }
  });
});
