import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sandbox, SandboxError, type StreamEvent } from '../../clients/typescript/src';

/** What one connection to the stream does, given the request (its Last-Event-ID). */
type Connection = (request: IncomingMessage, response: ServerResponse) => void;

const RESULT = { execution_id: 'e1', status: 'completed', output: 'one\ntwo\n' };

function output(id: number, data: string): string {
  return `id: ${id}\nevent: output\ndata: ${JSON.stringify({ stream: 'stdout', data })}\n\n`;
}

/**
 * The TypeScript client's stream against a real HTTP server that plays each connection
 * from a script: cut connections, what the client sends when it reconnects.
 */
describe('Sandbox.stream() (TypeScript client) over a cut connection', () => {
  let server: Server;
  let connections: Connection[];
  const lastEventIds: (string | undefined)[] = [];
  let sandbox: Sandbox;

  beforeEach(async () => {
    connections = [];
    lastEventIds.length = 0;
    server = createServer((request, response) => {
      lastEventIds.push(request.headers['last-event-id'] as string | undefined);
      const next = connections.shift();
      if (next) next(request, response);
      else response.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    sandbox = new Sandbox({ baseUrl: `http://127.0.0.1:${port}`, pollIntervalMs: 10 });
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
    const all: StreamEvent[] = [];
    for await (const event of events) all.push(event);
    return all;
  }

  const sse = (response: ServerResponse): ServerResponse =>
    response.writeHead(200, { 'Content-Type': 'text/event-stream' });

  it('reopens a cut stream from the last event id, so nothing comes twice', async () => {
    connections.push(
      (_request, response) => {
        sse(response).write(output(1, 'one\n'));
        setTimeout(() => response.socket?.destroy(), 20);
      },
      (_request, response) => {
        sse(response).write(output(2, 'two\n'));
        response.end(`id: 2\nevent: result\ndata: ${JSON.stringify(RESULT)}\n\n`);
      },
    );
    const events = await collect(sandbox.stream('e1'));
    expect(lastEventIds).toEqual([undefined, '1']);
    expect(events.map((event) => (event.type === 'output' ? event.data : event.type))).toEqual([
      'one\n',
      'two\n',
      'result',
    ]);
  });

  it('resumes from the lastEventId it is given', async () => {
    connections.push((_request, response) =>
      sse(response).end(`id: 7\nevent: result\ndata: ${JSON.stringify(RESULT)}\n\n`),
    );
    await collect(sandbox.stream('e1', { lastEventId: 5 }));
    expect(lastEventIds).toEqual(['5']);
  });

  it('gives up after four connections in a row that bring no event', async () => {
    for (let i = 0; i < 4; i++) connections.push((_request, response) => sse(response).end());
    const failure = collect(sandbox.stream('e1'));
    await expect(failure).rejects.toThrow(
      'the stream of execution e1 ended 4 times in a row before its result',
    );
    expect(lastEventIds).toHaveLength(4);
  });

  it('never retries an answer of the service: a 404 is a SandboxError at once', async () => {
    connections.push((_request, response) =>
      response
        .writeHead(404, { 'Content-Type': 'application/problem+json' })
        .end(JSON.stringify({ status: 404, code: 'EXECUTION_NOT_FOUND', title: 'Not Found' })),
    );
    const failure = collect(sandbox.stream('e1'));
    await expect(failure).rejects.toBeInstanceOf(SandboxError);
    await expect(failure).rejects.toMatchObject({ code: 'EXECUTION_NOT_FOUND' });
    expect(lastEventIds).toHaveLength(1);
  });

  it('stops when the caller aborts, without reconnecting', async () => {
    const stop = new AbortController();
    connections.push((_request, response) => {
      sse(response).write(output(1, 'one\n'));
      setTimeout(() => stop.abort(), 20);
    });
    const failure = collect(sandbox.stream('e1', { signal: stop.signal }));
    await expect(failure).rejects.toMatchObject({ name: 'AbortError' });
    expect(lastEventIds).toHaveLength(1);
  });
});
