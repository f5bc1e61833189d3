import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { ArgumentsHost } from '@nestjs/common';
import { DomainError } from '../errors/domain-error';
import { ProblemDetailsFilter } from './problem-details.filter';

/** An ArgumentsHost over a request and a response, as Nest hands the filter. */
function hostOf(response: object): ArgumentsHost {
  const request = { method: 'GET', url: '/executions/x', headers: {} };
  return {
    switchToHttp: () => ({
      getRequest: () => request,
      getResponse: () => response,
      getNext: () => undefined,
    }),
  } as unknown as ArgumentsHost;
}

const RATE_LIMITED = new DomainError('RATE_LIMITED', 'Slow down.', { retryAfterS: 7 });
const UNAUTHENTICATED = new DomainError('UNAUTHENTICATED', 'Who are you?', {
  wwwAuthenticate: 'Bearer realm="sandbox"',
});

describe('ProblemDetailsFilter', () => {
  const filter = new ProblemDetailsFilter();

  it('sends the problem with its Retry-After and WWW-Authenticate headers', () => {
    const headers: Record<string, string> = {};
    const sent: { status?: number; type?: string; body?: string } = {};
    const response = {
      headersSent: false,
      setHeader: (name: string, value: string) => (headers[name] = value),
      status: (status: number) => ((sent.status = status), response),
      type: (type: string) => ((sent.type = type), response),
      send: (body: string) => (sent.body = body),
    };

    filter.catch(RATE_LIMITED, hostOf(response));
    filter.catch(UNAUTHENTICATED, hostOf(response));

    expect(headers).toEqual({
      'Retry-After': '7',
      'WWW-Authenticate': 'Bearer realm="sandbox"',
    });
    expect(sent).toMatchObject({ status: 401, type: 'application/problem+json' });
    expect(JSON.parse(sent.body!)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('leaves a response whose headers were already sent (an event stream) alone, headers included', () => {
    // A real response: once its head is written, setHeader throws ERR_HTTP_HEADERS_SENT.
    const response = new ServerResponse(new IncomingMessage(new Socket()));
    response.writeHead(200, { 'Content-Type': 'text/event-stream' });
    expect(response.headersSent).toBe(true);

    expect(() => filter.catch(RATE_LIMITED, hostOf(response))).not.toThrow();
    expect(() => filter.catch(UNAUTHENTICATED, hostOf(response))).not.toThrow();
    expect(response.getHeader('Retry-After')).toBeUndefined();
    expect(response.statusCode).toBe(200);
  });
});
