import {
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
  createServer,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONWebKeySet } from 'jose';

/** How the stand-in answers a POST of an adjustment. */
export type AdjustmentBehaviour =
  /** 201 */
  | 'ok'
  /** 503 */
  | 'fail'
  /** 400 with a JSON `message` */
  | 'reject'
  /** 503 for the next n posts, then 201 */
  | { readonly failTimes: number }
  /** 201, after a delay */
  | { readonly delayMs: number }
  /** That status, with a JSON `message` */
  | { readonly status: number };

/** One adjustment POST as the stand-in received it. */
export interface ReceivedAdjustment {
  readonly path: string;
  /** Lower-case names, as node:http gives them: `headers['idempotency-key']`. */
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when it is not JSON. */
  readonly body: unknown;
  /** The body as it arrived. */
  readonly text: string;
  /** What the stand-in answered; null until it does (and for good if stopped first). */
  status: number | null;
}

/** One processor fetch as the stand-in received it. */
export interface ReceivedProcessorFetch {
  readonly processorId: string;
  /** Lower-case names, as node:http gives them: `headers['x-sandbox-tenant']`. */
  readonly headers: IncomingHttpHeaders;
}

export const REJECTION_MESSAGE = 'parameter_x is not a parameter of this processor';

/** Auth specs: where the stand-in serves its JSON Web Key Set. */
const JWKS_PATH = '/.well-known/jwks.json';

const PROCESSOR_ROUTE = /^\/api\/processors\/([^/]+)(\/adjustments)?$/;

/**
 * A real HTTP server on 127.0.0.1 standing in for the main backend, with the default
 * paths: GET /api/processors/{id} and POST /api/processors/{id}/adjustments.
 */
export class StandInBackend {
  /** How the next adjustment POSTs are answered. */
  adjustmentBehaviour: AdjustmentBehaviour = 'ok';
  /** Every adjustment POST received, oldest first. */
  readonly adjustmentRequests: ReceivedAdjustment[] = [];
  /** Bearer tokens whose processor fetches are refused with 403, as a backend's authz would. */
  readonly refusedTokens = new Set<string>();
  /** The Authorization header of each processor fetch, oldest first. */
  readonly processorAuthorizations: (string | undefined)[] = [];
  /** Each processor fetch, headers and all, oldest first. */
  readonly processorFetches: ReceivedProcessorFetch[] = [];
  /** Every request received, whatever its route, oldest first: `GET /api/`. */
  readonly requests: string[] = [];
  /** When set, every processor fetch is answered with this status and JSON body. */
  processorFailure: { readonly status: number; readonly body: unknown } | null = null;
  private readonly processors = new Map<string, string>();
  private readonly delayedAnswers = new Set<NodeJS.Timeout>();
  private readonly server: Server;
  private port = 0;
  /** Auth specs: the key set served at GET {@link jwksUrl}; null answers 404. */
  jwks: JSONWebKeySet | null = null;

  constructor() {
    this.server = createServer((request, response) => this.handle(request, response));
  }

  get url(): string {
    if (this.port === 0) throw new Error('the stand-in backend was never started');
    return `http://127.0.0.1:${this.port}`;
  }

  get jwksUrl(): string {
    return `${this.url}${JWKS_PATH}`;
  }

  /** Listens on an ephemeral port the first time, and on that same port after stop(). */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Goes down like a crashed backend: connections are cut, new ones refused. */
  async stop(): Promise<void> {
    this.delayedAnswers.forEach(clearTimeout);
    this.delayedAnswers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  setProcessor(processorId: string, code: string): void {
    this.processors.set(processorId, code);
  }

  /** The POSTs of one adjustment, oldest first. */
  requestsFor(adjustmentId: string): ReceivedAdjustment[] {
    return this.adjustmentRequests.filter(
      (received) => isObject(received.body) && received.body.adjustment_id === adjustmentId,
    );
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
    this.requests.push(`${request.method} ${path}`);
    if (path === JWKS_PATH && request.method === 'GET' && this.jwks) {
      send(response, 200, this.jwks);
      return;
    }
    const route = PROCESSOR_ROUTE.exec(path);
    if (route && !route[2] && request.method === 'GET') {
      const processorId = decodeURIComponent(route[1]);
      const code = this.processors.get(processorId);
      const authorization = request.headers.authorization;
      this.processorAuthorizations.push(authorization);
      this.processorFetches.push({ processorId, headers: request.headers });
      const token = authorization?.replace(/^Bearer /, '');
      if (this.processorFailure) {
        send(response, this.processorFailure.status, this.processorFailure.body);
      } else if (token !== undefined && this.refusedTokens.has(token)) {
        send(response, 403, { detail: 'This caller may not run this processor' });
      } else if (code === undefined) send(response, 404, { detail: 'Processor not found' });
      else send(response, 200, { processor_id: processorId, code });
    } else if (route && route[2] && request.method === 'POST') {
      readBody(request, (text) => this.receiveAdjustment(path, request.headers, text, response));
    } else {
      send(response, 404, { detail: 'Not Found' });
    }
  }

  private receiveAdjustment(
    path: string,
    headers: IncomingHttpHeaders,
    text: string,
    response: ServerResponse,
  ): void {
    const body = parseJsonOrText(text);
    const received: ReceivedAdjustment = { path, headers, body, text, status: null };
    this.adjustmentRequests.push(received);
    const answer = (status: number, answerBody: unknown) => {
      received.status = status;
      send(response, status, answerBody);
    };
    const behaviour = this.adjustmentBehaviour;
    if (behaviour === 'ok') {
      answer(201, { accepted: true });
    } else if (behaviour === 'fail') {
      answer(503, { detail: 'Service Unavailable' });
    } else if (behaviour === 'reject') {
      answer(400, { message: REJECTION_MESSAGE });
    } else if ('failTimes' in behaviour) {
      this.adjustmentBehaviour =
        behaviour.failTimes > 1 ? { failTimes: behaviour.failTimes - 1 } : 'ok';
      if (behaviour.failTimes > 0) answer(503, { detail: 'Service Unavailable' });
      else answer(201, { accepted: true });
    } else if ('delayMs' in behaviour) {
      const timer = setTimeout(() => {
        this.delayedAnswers.delete(timer);
        answer(201, { accepted: true });
      }, behaviour.delayMs);
      this.delayedAnswers.add(timer);
    } else {
      answer(behaviour.status, { message: `answered ${behaviour.status} as told` });
    }
  }
}

function readBody(request: IncomingMessage, then: (text: string) => void): void {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => then(Buffer.concat(chunks).toString('utf8')));
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
