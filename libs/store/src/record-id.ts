/** Execution and adjustment ids: UUIDs in lower-case hex, as randomUUID() makes them. */
const RECORD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether `id` can name a record. Anything else is unknown without a store read: the
 * stores derive key names from ids, so `<id>:input` must never reach them as an id.
 */
export function isRecordId(id: string): boolean {
  return RECORD_ID.test(id);
}
