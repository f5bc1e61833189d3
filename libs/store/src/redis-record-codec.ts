import type { ExecutionRecord, ExecutionSummary } from './execution-record';

/** The fields a listing shows, kept in Redis apart from the rest of the record. */
export const SUMMARY_FIELDS = [
  'id',
  'tenant',
  'createdBy',
  'requestId',
  'processorId',
  'queuedAt',
  'status',
  'startedAt',
  'endedAt',
  'exitCode',
  'error',
] as const satisfies readonly (keyof ExecutionSummary)[];

type MissingSummaryField = Exclude<keyof ExecutionSummary, (typeof SUMMARY_FIELDS)[number]>;
// Fails to compile when ExecutionSummary gains a field SUMMARY_FIELDS lacks.
const summaryFieldsComplete: [MissingSummaryField] extends [never] ? true : never = true;
void summaryFieldsComplete;

/** A summary as its JSON values hold it: dates as ISO strings. */
type StoredSummary = Omit<ExecutionSummary, 'queuedAt' | 'startedAt' | 'endedAt'> & {
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
};

/** Everything in a record but its summary: the part a listing never reads. */
export type ExecutionDetails = Omit<ExecutionRecord, keyof ExecutionSummary>;

/**
 * A summary as a hash: each field's value as JSON text (Dates as ISO strings), so one
 * field can be rewritten (HSET) without decoding the others. Flat, for HSET.
 */
export function encodeSummary(summary: ExecutionSummary): string[] {
  return SUMMARY_FIELDS.flatMap((field) => [field, JSON.stringify(summary[field])]);
}

/**
 * A summary from its hash values, read in SUMMARY_FIELDS order (HMGET); undefined when
 * the hash is absent.
 */
export function decodeSummary(values: readonly (string | null)[]): ExecutionSummary | undefined {
  if (values.length !== SUMMARY_FIELDS.length || values.some((value) => value === null)) {
    return undefined;
  }
  const stored = Object.fromEntries(
    SUMMARY_FIELDS.map((field, i) => [field, JSON.parse(values[i] as string)]),
  ) as StoredSummary;
  return {
    id: stored.id,
    tenant: stored.tenant,
    createdBy: stored.createdBy,
    requestId: stored.requestId,
    processorId: stored.processorId,
    queuedAt: new Date(stored.queuedAt),
    status: stored.status,
    startedAt: dateOrNull(stored.startedAt),
    endedAt: dateOrNull(stored.endedAt),
    exitCode: stored.exitCode,
    error: stored.error,
  };
}

/**
 * Every field but the summary's, as one JSON text. A shallow copy minus the summary
 * fields, so a field added to ExecutionRecord is stored without a change here.
 */
export function encodeDetails(record: ExecutionRecord): string {
  const details: Partial<ExecutionRecord> = { ...record };
  for (const field of SUMMARY_FIELDS) delete details[field];
  return JSON.stringify(details);
}

/** A whole record from its two stored parts; undefined when the summary is absent. */
export function decodeRecord(
  detailsJson: string,
  summaryValues: readonly (string | null)[],
): ExecutionRecord | undefined {
  const summary = decodeSummary(summaryValues);
  return summary && { ...(JSON.parse(detailsJson) as ExecutionDetails), ...summary };
}

function dateOrNull(iso: string | null): Date | null {
  return iso === null ? null : new Date(iso);
}
