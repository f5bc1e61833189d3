import createClient, { type Client } from 'openapi-fetch';
import { SandboxError } from './errors';
import type { components, paths } from './generated/api';
import { sseMessages, type SseMessage } from './sse';

export type ExecuteRequest = components['schemas']['ExecuteRequestDto'];
export type Execution = components['schemas']['ExecutionResultDto'];
export type Submission = components['schemas']['ExecutionAcceptedDto'];
export type BatchRequest = components['schemas']['BatchRequestDto'];
export type Batch = components['schemas']['BatchDto'];
export type UploadedFile = components['schemas']['StoredFileDto'];
export type Runtimes = components['schemas']['RuntimeListDto'];
export type ExecutionList = components['schemas']['ExecutionListDto'];
export type ExecutionListQuery = NonNullable<paths['/executions']['get']['parameters']['query']>;
export type DebugRecord = components['schemas']['DebugRecordDto'];

/** A live event of GET /execution/{id}/stream; `id` is the number of the last output chunk. */
export type StreamEvent =
  | {
      readonly type: 'output';
      readonly id: number | null;
      readonly stream: 'stdout' | 'stderr';
      readonly data: string;
    }
  | { readonly type: 'status'; readonly id: number | null; readonly status: Execution['status'] }
  | { readonly type: 'result'; readonly id: number | null; readonly result: Execution };

export interface SandboxOptions {
  /** Where the service listens, e.g. http://localhost:8001. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`: the same header carries a JWT (AUTH_MODE=jwt). */
  readonly apiKey?: string;
  /** The first pause between two polls of an unfinished execution or batch; it doubles, up to 2 s. */
  readonly pollIntervalMs?: number;
  /**
   * How long `execute()` and `batch()` wait in one answer before they poll instead (60 s by
   * default): `?wait=true` holds the connection until the run ends, and a proxy may not.
   */
  readonly waitTimeoutMs?: number;
}

const UNFINISHED: readonly Execution['status'][] = ['queued', 'running'];
const MAX_POLL_INTERVAL_MS = 2000;
// What a gateway in front of the service answers when it gives up waiting on it.
const GATEWAY_GAVE_UP = [502, 504];
// The largest page GET /batches/{id} serves.
const BATCH_PAGE = 100;
// Connections in a row that may end before the result without bringing an event.
const STREAM_RECONNECTS = 3;

/** A client of one Brain_Net Sandbox service. Every error answer throws a `SandboxError`. */
export class Sandbox {
  private readonly client: Client<paths>;
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly pollIntervalMs: number;
  private readonly waitTimeoutMs: number;

  constructor(options: SandboxOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.headers = options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {};
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 60_000;
    this.client = createClient<paths>({ baseUrl: this.baseUrl, headers: this.headers });
  }

  /**
   * Runs the code and returns the finished execution (POST /execute?wait=true). Sent with an
   * Idempotency-Key: when the wait is cut (waitTimeoutMs, a dropped connection, a gateway's
   * 502 or 504), the same request again without `wait` names the same execution, polled.
   */
  async execute(request: ExecuteRequest): Promise<Execution> {
    const headers = { 'Idempotency-Key': globalThis.crypto.randomUUID() };
    const answer = await this.waited(() =>
      this.client.POST('/execute', {
        params: { query: { wait: true } },
        body: request,
        headers,
        signal: AbortSignal.timeout(this.waitTimeoutMs),
      }),
    );
    const execution = this.data(
      answer ?? (await this.client.POST('/execute', { body: request, headers })),
    );
    if ('output' in execution && !UNFINISHED.includes(execution.status)) return execution;
    // Accepted without its end (a 202): poll for it.
    return this.pollUntilFinished(execution.execution_id);
  }

  /** Queues the code and returns its id at once (POST /execute, 202). */
  async submit(request: ExecuteRequest): Promise<Submission> {
    return this.data(await this.client.POST('/execute', { body: request }));
  }

  /** The execution as it stands (GET /execution/{id}). */
  async get(executionId: string): Promise<Execution> {
    return this.data(
      await this.client.GET('/execution/{id}', { params: { path: { id: executionId } } }),
    );
  }

  /** Cancels a queued or running execution (DELETE /execution/{id}). */
  async cancel(executionId: string): Promise<Execution> {
    return this.data(
      await this.client.DELETE('/execution/{id}', { params: { path: { id: executionId } } }),
    );
  }

  /**
   * The execution's live events (GET /execution/{id}/stream): what it already printed, then
   * each chunk as it comes, status changes, and last its result. A connection lost before
   * the result is reopened with the last event's id (`Last-Event-ID`), so nothing comes
   * twice; `lastEventId` resumes from an id seen before.
   */
  async *stream(
    executionId: string,
    options: { readonly lastEventId?: number; readonly signal?: AbortSignal } = {},
  ): AsyncGenerator<StreamEvent> {
    const url = `${this.baseUrl}/execution/${encodeURIComponent(executionId)}/stream`;
    let resumeFrom = options.lastEventId ?? null;
    let fruitless = 0; // connections in a row that brought no event
    let lastFailure: unknown;
    for (;;) {
      fruitless++;
      const headers: Record<string, string> = { ...this.headers, Accept: 'text/event-stream' };
      if (resumeFrom !== null) headers['Last-Event-ID'] = String(resumeFrom);
      try {
        const response = await fetch(url, { headers, signal: options.signal });
        if (!response.ok || !response.body) throw await errorOf(response);
        for await (const message of sseMessages(response.body)) {
          const event = streamEventOf(message, response);
          if (!event) continue;
          fruitless = 0;
          resumeFrom = event.id ?? resumeFrom;
          yield event;
          if (event.type === 'result') return;
        }
      } catch (error: unknown) {
        // The service's answers and the caller's abort end the stream; a cut connection does not.
        if (error instanceof SandboxError || options.signal?.aborted) throw error;
        lastFailure = error;
      }
      if (fruitless > STREAM_RECONNECTS) {
        throw new Error(
          `the stream of execution ${executionId} ended ${fruitless} times in a row before its result`,
          { cause: lastFailure },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollIntervalMs));
    }
  }

  /** The executions this caller's tenant has, newest first, one page (GET /executions). */
  async executions(query: ExecutionListQuery = {}): Promise<ExecutionList> {
    return this.data(await this.client.GET('/executions', { params: { query } }));
  }

  /** What the run was given and how it went: code, stdin, input_data, limits, timings (GET /debug/{id}). */
  async debug(executionId: string): Promise<DebugRecord> {
    return this.data(
      await this.client.GET('/debug/{id}', { params: { path: { id: executionId } } }),
    );
  }

  /**
   * Runs a batch and returns it finished, every result in order, all pages joined
   * (POST /executions/batch?wait=true).
   */
  async batch(request: BatchRequest): Promise<Batch> {
    const headers = { 'Idempotency-Key': globalThis.crypto.randomUUID() };
    const answer = await this.waited(() =>
      this.client.POST('/executions/batch', {
        params: { query: { wait: true } },
        body: request,
        headers,
        signal: AbortSignal.timeout(this.waitTimeoutMs),
      }),
    );
    const accepted = this.data(
      answer ?? (await this.client.POST('/executions/batch', { body: request, headers })),
    );
    const firstPage =
      'status' in accepted && accepted.status === 'finished'
        ? accepted
        : await this.poll(
            () => this.batchPage(accepted.batch_id, 1),
            (page) => page.status === 'finished',
          );
    const items = [...firstPage.items];
    for (let page = firstPage.page + 1; items.length < firstPage.total; page++) {
      const more = (await this.batchPage(firstPage.batch_id, page)).items;
      if (more.length === 0) break; // executions pruned since the count: the batch is what is left
      items.push(...more);
    }
    return { ...firstPage, items };
  }

  /**
   * Uploads a file once, to name it in many requests by its `file_id` (POST /files). A
   * `Blob` is sent as it is read: a browser's `File`, or in Node `await fs.openAsBlob(path)`.
   */
  async upload(data: Uint8Array | string | Blob, name: string): Promise<UploadedFile> {
    const response = await fetch(`${this.baseUrl}/files?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { ...this.headers, 'Content-Type': 'application/octet-stream' },
      // A copy of the bytes in an ArrayBuffer of its own, which fetch's body type asks for.
      body: typeof data === 'string' || data instanceof Blob ? data : new Uint8Array(data),
    });
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as UploadedFile;
  }

  /** A file the code wrote under out/ (GET /execution/{id}/files/{path}). */
  async outputFile(executionId: string, path: string): Promise<Uint8Array> {
    const segments = path.split('/').map(encodeURIComponent).join('/');
    return this.download(`/execution/${encodeURIComponent(executionId)}/files/${segments}`);
  }

  /** A figure's PNG (GET /execution/{id}/figures/{index}). */
  async figure(executionId: string, index: number): Promise<Uint8Array> {
    return this.download(`/execution/${encodeURIComponent(executionId)}/figures/${index}`);
  }

  /** The runtimes a request may name, with their Python and packages (GET /runtimes). */
  async runtimes(): Promise<Runtimes> {
    return this.data(await this.client.GET('/runtimes'));
  }

  /**
   * The answer of a waiting request, or undefined when its wait was cut before the service
   * answered: the caller then asks again without waiting. A refused connection sent
   * nothing, so it is thrown as it is.
   */
  private async waited<T extends { response: Response }>(
    send: () => Promise<T>,
  ): Promise<T | undefined> {
    let answer: T;
    try {
      answer = await send();
    } catch (error: unknown) {
      if (connectionRefused(error)) throw error;
      return undefined;
    }
    const fromGateway =
      GATEWAY_GAVE_UP.includes(answer.response.status) &&
      !answer.response.headers.get('content-type')?.includes('application/problem+json');
    return fromGateway ? undefined : answer;
  }

  private async download(path: string): Promise<Uint8Array> {
    const response = await fetch(`${this.baseUrl}${path}`, { headers: this.headers });
    if (!response.ok) throw await errorOf(response);
    return new Uint8Array(await response.arrayBuffer());
  }

  private async batchPage(batchId: string, page: number): Promise<Batch> {
    const params = { path: { id: batchId }, query: { page, limit: BATCH_PAGE } };
    return this.data(await this.client.GET('/batches/{id}', { params }));
  }

  private async pollUntilFinished(executionId: string): Promise<Execution> {
    return this.poll(
      () => this.get(executionId),
      (execution) => !UNFINISHED.includes(execution.status),
    );
  }

  /** `read()` again and again, each pause twice the one before, until `done`. */
  private async poll<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    let pause = this.pollIntervalMs;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, MAX_POLL_INTERVAL_MS);
    }
  }

  /** The answer's body, or the SandboxError its error answer carries. */
  private data<T>(answer: { data?: T; error?: unknown; response: Response }): T {
    if (answer.data === undefined) throw SandboxError.fromAnswer(answer.response, answer.error);
    return answer.data;
  }
}

async function errorOf(response: Response): Promise<SandboxError> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: a proxy's page, kept as text
  }
  return SandboxError.fromAnswer(response, body);
}

/** A stream message as an event; null for one this client does not know. */
function streamEventOf(message: SseMessage, response: Response): StreamEvent | null {
  const id = /^\d+$/.test(message.id ?? '') ? Number(message.id) : null;
  switch (message.event) {
    case 'error':
      throw new SandboxError(null, null, message.data, response.headers.get('x-request-id'));
    case 'output': {
      const chunk = JSON.parse(message.data) as Pick<
        Extract<StreamEvent, { type: 'output' }>,
        'stream' | 'data'
      >;
      return { type: 'output', id, stream: chunk.stream, data: chunk.data };
    }
    case 'status': {
      const { status } = JSON.parse(message.data) as Pick<Execution, 'status'>;
      return { type: 'status', id, status };
    }
    case 'result':
      return { type: 'result', id, result: JSON.parse(message.data) as Execution };
    default:
      return null;
  }
}

/** fetch's error when nothing could be sent: the service is not there. */
function connectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return cause?.code === 'ECONNREFUSED';
}
