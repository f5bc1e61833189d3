import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the receiver answers the next requests. */
export type ReceiverAnswer =
  /** That status, with a short body (a Location for a 3xx). */
  | { readonly status: number }
  /** 200 after a delay. */
  | { readonly delayMs: number }
  /** 200 with a body that never ends. */
  | 'endless';

/** One request as the receiver got it. */
export interface ReceivedWebhook {
  readonly method: string;
  readonly path: string;
  /** Lower-case names, as node:http gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The body as it arrived. */
  readonly body: string;
}

/** A real HTTP server on 127.0.0.1 that callbacks are sent to. */
export class WebhookReceiver {
  answer: ReceiverAnswer = { status: 204 };
  /** Every request, oldest first. */
  readonly received: ReceivedWebhook[] = [];
  /** Every TCP connection accepted, whether or not a request came over it. */
  connections = 0;
  private readonly server: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private port = 0;

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({
          method: request.method ?? '',
          path: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const { answer } = this;
        if (answer === 'endless') {
          response.writeHead(200, { 'Content-Type': 'text/plain' });
          const chunk = Buffer.alloc(16 * 1024, 'x');
          // Writes as fast as the client reads, until the client goes.
          const pump = (): void => {
            while (!response.destroyed && response.write(chunk));
          };
          response.on('drain', pump);
          pump();
        } else if ('delayMs' in answer) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            response.writeHead(200).end('late');
          }, answer.delayMs);
          this.timers.add(timer);
        } else {
          response.writeHead(answer.status, { Location: `${this.url('127.0.0.1')}/moved` });
          response.end(`answered ${answer.status}`);
        }
      });
    });
    this.server.on('connection', () => this.connections++);
  }

  /** Listens on an ephemeral port of 127.0.0.1. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.timers.forEach(clearTimeout);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** `http://{host}:{port}` of this receiver; the host is the caller's, for resolvers to map. */
  url(host: string): string {
    if (this.port === 0) throw new Error('the webhook receiver was never started');
    return `http://${host}:${this.port}`;
  }
}
