import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AdjustmentPage, AdjustmentRecord, ExecutionStore, isRecordId } from '@brain-net/store';
import { Caller, canSee, listingTenant, readableTenant } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { orUnavailable } from '../errors/unavailable';
import { AcceptedAdjustment, AdjustmentOutbox } from './adjustment-outbox';
import { AdjustProcessorRequestDto } from './dto/adjust-processor-request.dto';

/** Printable ASCII, as HTTP header values are: the rule of POST /execute's key too. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
/**
 * Largest `adjustments`: every pending one is stored, and delivered on each attempt, whole;
 * suggestions, not data sets.
 */
export const MAX_ADJUSTMENTS_BYTES = 256 * 1024;

/**
 * Retry-After of a tenant at its cap of pending adjustments: they leave it as the backend
 * takes them, which takes a first attempt, or the backoff of a retry.
 */
const PENDING_RETRY_AFTER_S = 10;

/** Accepts processor adjustments for delivery to the backend, and reports on them. */
@Injectable()
export class AdjustmentService {
  constructor(
    private readonly outbox: AdjustmentOutbox,
    private readonly executions: ExecutionStore,
    private readonly config: AppConfig,
  ) {}

  /**
   * Stores the adjustment as pending (durably, before answering) and starts its delivery.
   * With an Idempotency-Key this tenant already used for the same adjustment, answers
   * with that first one instead (replayed), and nothing is delivered again: the key makes
   * the id, so every instance lands on the same adjustment. The same key for a different
   * adjustment is a 422. An execution_id the caller cannot read is a 404, as for GET
   * /execution/{id}; a tenant with MAX_PENDING_ADJUSTMENTS_PER_TENANT pending is a 429.
   * Either way nothing is stored.
   */
  async accept(
    request: AdjustProcessorRequestDto,
    caller: Caller,
    idempotencyKey?: string,
  ): Promise<AcceptedAdjustment> {
    const id =
      idempotencyKey === undefined
        ? randomUUID()
        : keyedAdjustmentId(caller.tenant, checkedKey(idempotencyKey));
    if (Buffer.byteLength(request.adjustments.text) > MAX_ADJUSTMENTS_BYTES) {
      throw new DomainError(
        'PAYLOAD_TOO_LARGE',
        `adjustments is ${Buffer.byteLength(request.adjustments.text)} bytes of JSON; the limit is ${MAX_ADJUSTMENTS_BYTES}.`,
      );
    }
    const candidate = newRecord(id, request, caller);
    if (candidate.executionId !== null) await this.checkReadable(candidate.executionId, caller);
    const max = this.config.maxPendingAdjustmentsPerTenant;
    const accepted = await fromOutbox(() => this.outbox.accept(candidate, max));
    if ('refused' in accepted) {
      throw new DomainError(
        'TOO_MANY_PENDING_ADJUSTMENTS',
        `Tenant ${caller.tenant} has ${accepted.pending} adjustments waiting for delivery, ` +
          `as many as it may (MAX_PENDING_ADJUSTMENTS_PER_TENANT); try again once some are delivered.`,
        { retryAfterS: PENDING_RETRY_AFTER_S },
      );
    }
    if (accepted.replayed && fingerprintOf(accepted.record) !== fingerprintOf(candidate)) {
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key ${idempotencyKey} was used for a different adjustment (${id}).`,
      );
    }
    return accepted;
  }

  /** Another tenant's execution is as unknown as a missing one (ExecutionService.get's rule). */
  private async checkReadable(executionId: string, caller: Caller): Promise<void> {
    const execution = isRecordId(executionId)
      ? await orUnavailable('STORE_UNAVAILABLE', 'execution', () =>
          this.executions.get(executionId, readableTenant(caller)),
        )
      : undefined;
    if (!execution || !canSee(caller, execution.tenant)) {
      throw new DomainError('EXECUTION_NOT_FOUND', `No execution has id ${executionId}.`);
    }
  }

  /** The adjustment, if this caller may see it; another tenant's is as unknown as a missing one. */
  async get(id: string, caller: Caller): Promise<AdjustmentRecord> {
    const record = isRecordId(id) ? await fromOutbox(() => this.outbox.get(id)) : undefined;
    if (!record || !canSee(caller, record.tenant)) {
      throw new DomainError('ADJUSTMENT_NOT_FOUND', `No adjustment has id ${id}.`);
    }
    return record;
  }

  /** The caller's tenant's adjustments; an admin's: one tenant's, or all. */
  list(page: number, limit: number, caller: Caller, tenant?: string): Promise<AdjustmentPage> {
    return fromOutbox(() =>
      this.outbox.list((page - 1) * limit, limit, listingTenant(caller, tenant)),
    );
  }
}

function newRecord(
  id: string,
  request: AdjustProcessorRequestDto,
  caller: Caller,
): AdjustmentRecord {
  const now = new Date();
  return {
    id,
    tenant: caller.tenant,
    createdBy: caller.subject,
    processorId: request.processor_id,
    adjustments: request.adjustments.text,
    reason: request.reason,
    executionId: request.execution_id ?? null,
    status: 'pending',
    attempts: 0,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    nextAttemptAt: now,
    deliveredAt: null,
  };
}

function checkedKey(key: string): string {
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'Idempotency-Key must be 1 to 200 printable ASCII characters.',
      { fieldProblems: [{ field: 'Idempotency-Key', messages: ['1 to 200 printable ASCII'] }] },
    );
  }
  return key;
}

/**
 * The id of the adjustment a tenant's Idempotency-Key stands for: sha256 of both, in the
 * shape of a UUID (version 8, "custom", RFC 9562). Neither store needs an index of keys:
 * a repeat looks its adjustment up by id (SQLite), or adds a job under the same id, which
 * BullMQ makes one job of; and the backend, which gets the id as its Idempotency-Key,
 * sees one key too. Another tenant's same key is another id.
 */
export function keyedAdjustmentId(tenant: string, key: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify(['adjustment', tenant, key]))
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * What an adjustment asks for, not how its JSON was spelled: the fields, the object's
 * keys in sorted order. Who sent it and when do not count. JSON.parse keeps every key
 * (__proto__ too) as the object's own, as the delivery does.
 */
function fingerprintOf(record: AdjustmentRecord): string {
  const asked = canonicalJson([
    record.processorId,
    JSON.parse(record.adjustments),
    record.reason,
    record.executionId,
  ]);
  return createHash('sha256').update(asked).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, field]) => `${JSON.stringify(name)}:${canonicalJson(field)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** An outbox that cannot answer (SQLite failing, Redis away) is a 503, never a crash. */
function fromOutbox<T>(access: () => Promise<T>): Promise<T> {
  return orUnavailable('STORE_UNAVAILABLE', 'adjustment', access);
}
