import type { SandboxJob } from './docker-runner';

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
