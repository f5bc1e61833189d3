import type { IncomingHttpHeaders } from 'node:http';
import { Controller, ExecutionContext, Get, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { loadConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { callerOf, requireScopeMiddleware } from './access';
import { OpenUnlessProtected, Public, RequireScope } from './access.decorators';
import { AuthGuard } from './auth.guard';
import { AnonymousAuthenticator, Authenticator } from './authenticator';
import { ANONYMOUS_CALLER, Caller, Scope } from './caller';
import { unauthenticated } from './auth-errors';

@Controller()
class RoutesController {
  @Get('execute')
  @RequireScope('execute')
  execute(): void {}

  @Get('live')
  @Public()
  live(): void {}

  @Get('metrics')
  @OpenUnlessProtected('protectMetrics')
  metrics(): void {}

  @Get('forgotten')
  forgotten(): void {}
}

@Controller()
@RequireScope('read')
class ReadController {
  @Get('list')
  list(): void {}

  @Get('open')
  @Public()
  open(): void {}
}

/** Knows one key per caller: the header `x-api-key: <subject>`. */
class FakeAuthenticator extends Authenticator {
  constructor(private readonly callers: Caller[]) {
    super();
  }

  authenticate(headers: IncomingHttpHeaders): Promise<Caller> {
    const caller = this.callers.find((known) => known.subject === headers['x-api-key']);
    return caller ? Promise.resolve(caller) : Promise.reject(unauthenticated('who are you?'));
  }
}

function callerWith(subject: string, ...scopes: Scope[]): Caller {
  return { tenant: 't1', subject, scopes: new Set(scopes), bearerToken: null };
}

const READER = callerWith('reader', 'read');
const RUNNER = callerWith('runner', 'execute', 'read');
const ADMIN = callerWith('admin', 'admin');

function requestAs(subject?: string): Request {
  const headers = subject ? { 'x-api-key': subject } : {};
  const headersDistinct = subject ? { 'x-api-key': [subject] } : {};
  return { headers, headersDistinct, method: 'GET', path: '/x' } as unknown as Request;
}

function contextOf(controller: Type, handler: string, request: Request): ExecutionContext {
  const prototype = controller.prototype as Record<string, () => void>;
  return {
    getHandler: () => prototype[handler],
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

describe('AuthGuard', () => {
  const guardWith = (authenticator: Authenticator, env: Record<string, string> = {}) =>
    new AuthGuard(new Reflector(), authenticator, loadConfig(env));
  const guard = guardWith(new FakeAuthenticator([READER, RUNNER, ADMIN]));

  async function decide(
    on: AuthGuard,
    controller: Type,
    handler: string,
    subject?: string,
  ): Promise<number> {
    try {
      await on.canActivate(contextOf(controller, handler, requestAs(subject)));
      return 200;
    } catch (error: unknown) {
      if (error instanceof DomainError) return error.status;
      throw error;
    }
  }

  it.each([
    ['execute', undefined, 401],
    ['execute', 'nobody', 401],
    ['execute', 'reader', 403],
    ['execute', 'runner', 200],
    ['execute', 'admin', 200],
    ['live', undefined, 200],
    ['metrics', undefined, 200],
    // A route without a decision needs admin.
    ['forgotten', 'runner', 403],
    ['forgotten', 'admin', 200],
  ])('%s as %s: %i', async (handler, subject, status) => {
    expect(await decide(guard, RoutesController, handler, subject)).toBe(status);
  });

  it('takes a class-wide scope, and lets a route override it', async () => {
    expect(await decide(guard, ReadController, 'list', undefined)).toBe(401);
    expect(await decide(guard, ReadController, 'list', 'reader')).toBe(200);
    expect(await decide(guard, ReadController, 'open', undefined)).toBe(200);
  });

  it('asks for admin on /metrics when AUTH_PROTECT_METRICS is set', async () => {
    const strict = guardWith(new FakeAuthenticator([RUNNER, ADMIN]), {
      AUTH_PROTECT_METRICS: 'true',
    });
    expect(await decide(strict, RoutesController, 'metrics', undefined)).toBe(401);
    expect(await decide(strict, RoutesController, 'metrics', 'runner')).toBe(403);
    expect(await decide(strict, RoutesController, 'metrics', 'admin')).toBe(200);
  });

  it('says which scope is missing, in the body and the challenge', async () => {
    const error = await guard
      .canActivate(contextOf(RoutesController, 'execute', requestAs('reader')))
      .catch((reason: unknown) => reason as DomainError);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('FORBIDDEN');
    expect((error as DomainError).message).toMatch(/"execute"/);
    expect((error as DomainError).details.wwwAuthenticate).toBe(
      'Bearer realm="brain-net-sandbox", error="insufficient_scope", scope="execute"',
    );
  });

  it('remembers the caller for @CurrentCaller()', async () => {
    const request = requestAs('runner');
    await guard.canActivate(contextOf(RoutesController, 'execute', request));
    expect(callerOf(request)).toBe(RUNNER);
    expect(() => callerOf(requestAs('runner'))).toThrow(/no caller was resolved/);
  });

  it('lets everyone through as the anonymous caller with AUTH_MODE=none', async () => {
    const open = guardWith(new AnonymousAuthenticator());
    const request = requestAs();
    await open.canActivate(contextOf(RoutesController, 'forgotten', request));
    expect(callerOf(request)).toBe(ANONYMOUS_CALLER);
  });
});

describe('requireScopeMiddleware (Express middleware for /docs)', () => {
  const middleware = requireScopeMiddleware(new FakeAuthenticator([RUNNER, ADMIN]), 'admin');

  function run(subject?: string): Promise<unknown> {
    return new Promise((resolve) => {
      const next: NextFunction = (error?: unknown) => resolve(error ?? 'next');
      middleware(requestAs(subject), {} as Response, next);
    });
  }

  it('passes an admin on and hands anyone else a 401 or 403 to the error handler', async () => {
    expect(await run('admin')).toBe('next');
    expect(await run(undefined)).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await run('runner')).toMatchObject({ code: 'FORBIDDEN' });
  });
});
