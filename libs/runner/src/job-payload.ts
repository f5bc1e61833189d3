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
 * sent: it is only ever parsed inside the container.
 */
export function jobPayloadText(job: Pick<SandboxJob, 'payload' | 'inputJson'>): string {
  return appendRawJsonMember(JSON.stringify(job.payload), 'input_data', job.inputJson);
}
