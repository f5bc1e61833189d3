import type { Server } from 'node:http';
import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ExecutionService } from '../execution/execution.service';
import { shuttingDownError } from '../execution/graceful-shutdown';

/**
 * Once the executions are drained, how long answers still being sent may take before
 * their connections are closed anyway, so that closing the server never waits on a
 * client that keeps its connection open.
 */
export const ANSWER_FLUSH_MS = 2_000;

/**
 * The HTTP side of graceful shutdown. Nest closes the HTTP server after the
 * beforeApplicationShutdown hooks (ServiceLifecycle's first steps), and `server.close()`
 * waits for every open connection, keep-alive ones included. So: from the moment
 * shutdown begins, POST /execute is refused before its body is read, and every answer not yet sent closes its connection; once the
 * executions are drained (ExecutionService.shutDown: every waiting client has its
 * answer), idle connections are closed, and whatever is still open is closed
 * ANSWER_FLUSH_MS later.
 */
@Injectable()
export class HttpShutdown {
  /** Requests whose answers have not been sent completely yet. */
  private readonly open = new Map<Response, Request>();
  private readonly closing = new WeakSet<Response>();
  private backstop: NodeJS.Timeout | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly executions: ExecutionService,
  ) {}

  /** Express middleware for every request; configureApp installs it before any body is read. */
  readonly middleware: RequestHandler = (
    request: Request,
    response: Response,
    next: NextFunction,
  ) => {
    if (this.executions.isShuttingDown) {
      this.closeAfterAnswer(request, response);
    } else {
      this.open.set(response, request);
      response.once('close', () => this.open.delete(response));
    }
    next();
  };

  /**
   * Express handler of POST /execute, mounted on that route (so matched however its path
   * is spelled), before its body is read: a new execution is refused once shutdown began.
   */
  readonly refuseSubmits: RequestHandler = (
    _request: Request,
    _response: Response,
    next: NextFunction,
  ) => {
    next(this.executions.isShuttingDown ? shuttingDownError() : undefined);
  };

  /**
   * The first step of the shutdown (ServiceLifecycle), while the server still answers:
   * drains the executions, then closes the connections.
   */
  async drainWhileAnswering(): Promise<void> {
    const drained = this.executions.shutDown();
    for (const [response, request] of this.open) this.closeAfterAnswer(request, response);
    this.open.clear();
    await drained;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    server.closeIdleConnections();
    this.backstop = setTimeout(() => server.closeAllConnections(), ANSWER_FLUSH_MS);
    this.backstop.unref();
  }

  /** Once the server closed. */
  stop(): void {
    clearTimeout(this.backstop);
  }

  /**
   * An answer not sent yet says `Connection: close`, so Node.js closes the connection
   * after it; one under way (an event stream) ends its connection once it is sent.
   */
  private closeAfterAnswer(request: Request, response: Response): void {
    if (this.closing.has(response)) return;
    this.closing.add(response);
    if (!response.headersSent) {
      response.setHeader('Connection', 'close');
    } else {
      response.once('finish', () => request.socket.end());
    }
  }
}
