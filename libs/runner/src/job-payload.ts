import type { SandboxBatchItem, SandboxBatchJob, SandboxJob } from './docker-runner';

/**
 * `json` (the text of an object) with one more member whose value is `rawValue`, a JSON
 * text put in as it is: large values are never parsed to be serialized again.
 */
export function appendRawJsonMember(json: string, key: string, rawValue: string): string {
  const separator = json === '{}' ? '' : ',';
  return `${json.slice(0, -1)}${separator}${JSON.stringify(key)}:${rawValue}}`;
}

/**
 * The harness payload as JSON text, with `input_data` spliced in as the text the caller
 * sent: it is only ever parsed inside the container. Its `files` announce the job's input
 * files, whose bytes the runner sends after it, in the same order.
 */
export function jobPayloadText(job: Pick<SandboxJob, 'payload' | 'inputJson' | 'files'>): string {
  const files = job.files?.map(({ path, size }) => ({ path, size })) ?? [];
  const payload = files.length > 0 ? { ...job.payload, files } : job.payload;
  return appendRawJsonMember(JSON.stringify(payload), 'input_data', job.inputJson);
}

/**
 * The harness payload of a batch as JSON text (PROTOCOL.md, "Batches"): `batch` and the
 * items' payloads, each as jobPayloadText makes a job's. The input files of every item
 * follow it, item after item, in the order each item's `files` announce them.
 */
export function batchPayloadText(
  job: Pick<SandboxBatchJob, 'parallelism'> & { readonly items: readonly BatchItemPayload[] },
): string {
  const items = job.items.map((item) => jobPayloadText(item)).join(',');
  return `{"batch":${JSON.stringify({ parallelism: job.parallelism })},"items":[${items}]}`;
}

type BatchItemPayload = Pick<SandboxBatchItem, 'payload' | 'inputJson' | 'files'>;
