/**
 * Types of the JSON-lines protocol spoken by sandbox_harness.py (see PROTOCOL.md),
 * and the decoder that turns the container's stdout bytes into frames.
 */

export interface HarnessPayload {
  readonly code: string;
  readonly input_data: unknown;
  readonly debug_mode: boolean;
  readonly max_output_bytes: number;
  readonly time_limit_s: number;
  readonly filename: string;
}

/** Stdin of the harness: the JSON's length in bytes on a line, then the JSON. */
export function encodePayload(payload: HarnessPayload | string): Buffer {
  const json = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload), 'utf8');
  return Buffer.concat([Buffer.from(`${json.length}\n`, 'ascii'), json]);
}

export interface HarnessFrame {
  readonly file: string;
  readonly line: number | null;
  readonly function: string;
  readonly source: string | null;
}

export interface HarnessException {
  readonly type: string;
  readonly message: string;
  readonly line: number | null;
  readonly frames: HarnessFrame[];
  readonly cause: HarnessException | null;
  readonly cause_relation: 'cause' | 'context' | null;
}

export interface HarnessVariable {
  readonly type: string;
  readonly value?: unknown;
  readonly repr?: string;
  readonly truncated: boolean;
}

export interface HarnessResult {
  readonly duration_ms: number;
  readonly exceptions: HarnessException[];
  readonly variables_after: Record<string, HarnessVariable> | null;
}

export interface HarnessExit {
  readonly exit_code: number | null;
  readonly signal: number | null;
  readonly harness_timeout: boolean;
  readonly max_rss_kb: number;
  readonly cpu_time_ms: number;
  readonly stdout_bytes: number;
  readonly stderr_bytes: number;
  readonly result: HarnessResult | null;
}

export type OutputStream = 'stdout' | 'stderr';

export type HarnessMessage =
  | { readonly type: 'stdout' | 'stderr'; readonly data: string }
  | { readonly type: 'truncated'; readonly stream: OutputStream }
  | ({ readonly type: 'exit' } & HarnessExit)
  | { readonly type: 'harness_error'; readonly message: string };

const MESSAGE_TYPES = new Set(['stdout', 'stderr', 'truncated', 'exit', 'harness_error']);

/**
 * Splits the harness's stdout into newline-terminated JSON frames. Bytes are kept
 * until a newline arrives, so a frame split across Docker chunks decodes whole.
 * Only the harness supervisor writes this stream; a line that is not a frame means
 * the harness was bypassed or broken and is counted, never trusted.
 */
export class HarnessFrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private invalidLines = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Lines that were not valid frames (or were too long to be one). */
  get rejectedLines(): number {
    return this.invalidLines;
  }

  push(chunk: Buffer): HarnessMessage[] {
    const messages: HarnessMessage[] = [];
    let start = 0;
    let newline = chunk.indexOf(0x0a, start);
    while (newline !== -1) {
      this.pending.push(chunk.subarray(start, newline));
      const line = Buffer.concat(this.pending).toString('utf8');
      this.pending = [];
      this.pendingBytes = 0;
      const message = this.parse(line);
      if (message) messages.push(message);
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) {
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > this.maxLineBytes) {
        // A runaway line cannot be a frame: drop it rather than buffer without bound.
        this.invalidLines += 1;
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        this.pending.push(Buffer.from(chunk.subarray(start)));
      }
    }
    return messages;
  }

  private parse(line: string): HarnessMessage | null {
    if (line.length === 0) return null;
    try {
      const parsed: unknown = JSON.parse(line);
      if (isMessage(parsed)) return parsed;
    } catch {
      // fall through: counted below
    }
    this.invalidLines += 1;
    return null;
  }
}

function isMessage(value: unknown): value is HarnessMessage {
  if (typeof value !== 'object' || value === null || !('type' in value)) return false;
  const { type } = value;
  return typeof type === 'string' && MESSAGE_TYPES.has(type);
}
