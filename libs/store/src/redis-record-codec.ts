import { z } from 'zod';
import {
  EXECUTION_STATUSES,
  type ExecutionRecord,
  type ExecutionSummary,
  type MaybeOlder,
  LATER_FIELD_DEFAULTS,
} from './execution-record';
import { jsonText, parseRedisReply } from './redis-reply';

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
  'batchId',
  'batchIndex',
] as const satisfies readonly (keyof ExecutionSummary)[];

/** Summary fields a hash written before they existed lacks: each reads as null. */
const FIELDS_ADDED_LATER = new Set<string>(['batchId', 'batchIndex']);

type MissingSummaryField = Exclude<keyof ExecutionSummary, (typeof SUMMARY_FIELDS)[number]>;
// Fails to compile when ExecutionSummary gains a field SUMMARY_FIELDS lacks.
const summaryFieldsComplete: [MissingSummaryField] extends [never] ? true : never = true;
void summaryFieldsComplete;

const storedDate = z.iso.datetime().transform((iso) => new Date(iso));

/** A summary hash, field by field: each value JSON text, dates as ISO strings. */
const storedSummarySchema = z.object({
  id: jsonText(z.string()),
  tenant: jsonText(z.string()),
  createdBy: jsonText(z.string()),
  requestId: jsonText(z.string()),
  processorId: jsonText(z.string().nullable()),
  queuedAt: jsonText(storedDate),
  status: jsonText(z.enum(EXECUTION_STATUSES)),
  startedAt: jsonText(storedDate.nullable()),
  endedAt: jsonText(storedDate.nullable()),
  exitCode: jsonText(z.number().nullable()),
  error: jsonText(z.string().nullable()),
  batchId: jsonText(z.string().nullable()),
  batchIndex: jsonText(z.int().nonnegative().nullable()),
}) satisfies z.ZodType<ExecutionSummary>;

/**
 * The details' JSON, checked to be an object only: the adapter reads none of its fields,
 * and every one is kept as stored, also one this release does not know.
 */
const storedDetailsSchema = jsonText(z.looseObject({}));

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
 * the hash is absent. Throws, naming `source` (where the values came from), when a value
 * is not what encodeSummary writes.
 */
export function decodeSummary(
  values: readonly (string | null)[],
  source: string,
): ExecutionSummary | undefined {
  const absent = (field: string, i: number) => values[i] === null && !FIELDS_ADDED_LATER.has(field);
  if (SUMMARY_FIELDS.some(absent)) return undefined;
  const stored = Object.fromEntries(
    SUMMARY_FIELDS.map((field, i) => [field, values[i] ?? JSON.stringify(null)]),
  );
  return parseRedisReply(storedSummarySchema, stored, source);
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

/**
 * A whole record from its two stored parts; undefined when the summary is absent. Throws,
 * naming `source`, when a part is not what the encoders write.
 */
export function decodeRecord(
  detailsJson: string,
  summaryValues: readonly (string | null)[],
  source: string,
): ExecutionRecord | undefined {
  const summary = decodeSummary(summaryValues, source);
  if (!summary) return undefined;
  // Written by encodeDetails: the fields of ExecutionDetails, as the check above explains.
  const details = parseRedisReply(
    storedDetailsSchema,
    detailsJson,
    source,
  ) as MaybeOlder<ExecutionDetails>;
  return { ...LATER_FIELD_DEFAULTS, ...details, ...summary };
}
