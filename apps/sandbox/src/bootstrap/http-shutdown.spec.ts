import { EventEmitter } from 'node:events';
import type { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../errors/domain-error';
import type { ExecutionService } from '../execution/execution.service';
import { ANSWER_FLUSH_MS, HttpShutdown } from './http-shutdown';

class FakeResponse extends EventEmitter {
  headersSent = false;
  readonly headers = new Map<string, string>();
  setHeader(name: string, value: string): this {
    this.headers.set(name.toLowerCase(), value);
    return this;
  }
}

interface Exchange {
  readonly request: Request;
  readonly response: FakeResponse;
  readonly socketEnd: jest.Mock;
  readonly next: jest.Mock;
}

function setUp() {
  let finishDrain!: () => void;
  const drained = new Promise<void>((resolve) => (finishDrain = resolve));
  const executions = {
    isShuttingDown: false,
    shutDown: jest.fn(() => {
      executions.isShuttingDown = true;
      return drained;
    }),
  };
  const server = { closeIdleConnections: jest.fn(), closeAllConnections: jest.fn() };
  const adapterHost = { httpAdapter: { getHttpServer: () => server } };
  const shutdown = new HttpShutdown(
    adapterHost as unknown as HttpAdapterHost,
    executions as unknown as ExecutionService,
  );
  const send = (method: string, path: string): Exchange => {
    const socketEnd = jest.fn();
    const request = { method, path, socket: { end: socketEnd } } as unknown as Request;
    const response = new FakeResponse();
    const next = jest.fn();
    shutdown.middleware(request, response as unknown as Response, next as NextFunction);
    // configureApp mounts refuseSubmits on POST /execute.
    if (method === 'POST' && path === '/execute') {
      next.mockClear();
      shutdown.refuseSubmits(request, response as unknown as Response, next as NextFunction);
    }
    return { request, response, socketEnd, next };
  };
  return { shutdown, executions, server, send, finishDrain };
}

describe('HttpShutdown (the HTTP side of graceful shutdown)', () => {
  afterEach(() => jest.useRealTimers());

  it('lets requests through untouched while the service runs', () => {
    const { send } = setUp();
    const exchange = send('POST', '/execute');
    expect(exchange.next).toHaveBeenCalledWith(undefined);
    expect(exchange.response.headers.size).toBe(0);
  });

  it('once shutting down, refuses POST /execute before its body and closes connections after answers', () => {
    const { send, executions } = setUp();
    executions.isShuttingDown = true;

    const submit = send('POST', '/execute');
    const [[error]] = submit.next.mock.calls as [[unknown]];
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'SHUTTING_DOWN', status: 503 });
    expect((error as DomainError).details.retryAfterS).toBeGreaterThan(0);
    expect(submit.response.headers.get('connection')).toBe('close');

    const probe = send('GET', '/health/ready');
    expect(probe.next).toHaveBeenCalledWith();
    expect(probe.response.headers.get('connection')).toBe('close');
  });

  it('drains the executions, then closes idle connections and, a moment later, all', async () => {
    jest.useFakeTimers();
    const { shutdown, send, executions, server, finishDrain } = setUp();
    const waiting = send('POST', '/execute'); // ?wait=true: no answer yet
    const stream = send('GET', '/execution/1/stream'); // headers sent, events to come
    stream.response.headersSent = true;

    const closing = shutdown.drainWhileAnswering();
    expect(executions.shutDown).toHaveBeenCalledTimes(1);
    // From the start: the waiting answer will close its connection, the stream's ends with it.
    expect(waiting.response.headers.get('connection')).toBe('close');
    expect(stream.socketEnd).not.toHaveBeenCalled();
    stream.response.emit('finish');
    expect(stream.socketEnd).toHaveBeenCalledTimes(1);
    expect(server.closeIdleConnections).not.toHaveBeenCalled();

    finishDrain();
    await closing;
    expect(server.closeIdleConnections).toHaveBeenCalledTimes(1);
    expect(server.closeAllConnections).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(ANSWER_FLUSH_MS);
    expect(server.closeAllConnections).toHaveBeenCalledTimes(1);
    shutdown.stop();
  });

  it('closes nothing by force once the server has closed by itself', async () => {
    jest.useFakeTimers();
    const { shutdown, server, finishDrain } = setUp();
    finishDrain();
    await shutdown.drainWhileAnswering();
    shutdown.stop();
    await jest.advanceTimersByTimeAsync(ANSWER_FLUSH_MS);
    expect(server.closeAllConnections).not.toHaveBeenCalled();
  });
});
