import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { carriesBody } from '../http/upload-slots';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { forbidden } from './auth-errors';
import type { ProtectableRoutes } from '../config/auth-settings';
import { Authenticator } from './authenticator';
import { Caller, Scope, isAdmin } from './caller';

/** Who may call a route, as its decorators declare it. */
export type RouteAccess =
  | { readonly kind: 'public' }
  | { readonly kind: 'scope'; readonly scope: Scope }
  /** Open, unless the setting protects it: then it needs `admin`. */
  | { readonly kind: 'protectable'; readonly setting: keyof ProtectableRoutes };

/**
 * The scope a route needs, or null for none. A route that declares nothing needs
 * `admin`: a new route forgotten by the decorators fails closed.
 */
export function requiredScope(
  access: RouteAccess | undefined,
  routes: ProtectableRoutes,
): Scope | null {
  if (access === undefined) return 'admin';
  switch (access.kind) {
    case 'public':
      return null;
    case 'scope':
      return access.scope;
    case 'protectable':
      return routes[access.setting] ? 'admin' : null;
  }
}

/** `admin` may do everything. */
export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.scopes.has(scope) || isAdmin(caller);
}

const callers = new WeakMap<Request, Caller>();

/** The request's caller, as the auth guard resolved it. */
export function callerOf(request: Request): Caller {
  const caller = callers.get(request);
  // Only a @Public() route has none, and such a route has no business asking.
  if (!caller) throw new Error(`no caller was resolved for ${request.method} ${request.path}`);
  return caller;
}

/**
 * Authenticates the request and checks it holds `scope` (null: no check at all): 401
 * without valid credentials, 403 without the scope. Remembers the caller for callerOf().
 */
export async function authorize(
  authenticator: Authenticator,
  request: Request,
  scope: Scope | null,
): Promise<void> {
  if (scope === null) return;
  const caller =
    callers.get(request) ?? (await authenticator.authenticate(credentialHeadersOf(request)));
  callers.set(request, caller);
  if (!hasScope(caller, scope)) throw forbidden(scope);
}

/**
 * The request's headers as the authenticators read them. node:http keeps only the first
 * of repeated Authorization headers; here repeated credential headers are joined with a
 * line break, which no header value can hold, so credentialOf() refuses both
 * ambiguities alike instead of letting the first one silently win.
 */
export function credentialHeadersOf(request: IncomingMessage): IncomingHttpHeaders {
  const repeated = CREDENTIAL_HEADERS.filter(
    (name) => (request.headersDistinct[name]?.length ?? 0) > 1,
  );
  if (repeated.length === 0) return request.headers;
  const headers = { ...request.headers };
  for (const name of repeated) headers[name] = request.headersDistinct[name]?.join('\n');
  return headers;
}

const CREDENTIAL_HEADERS = ['authorization', 'x-api-key'] as const;

/** The caller authenticateBeforeBody() resolved, for what runs before the guard. */
export function earlyCallerOf(request: Request): Caller | undefined {
  return callers.get(request);
}

/**
 * Authenticates a request that carries a body before the body is read: an unknown
 * caller never holds an upload slot nor costs a parse. The guard checks the scope later.
 * Installed on the routes that read a body only: the open ones stay open whatever a
 * request carries.
 */
export function authenticateBeforeBody(authenticator: Authenticator): RequestHandler {
  return (request: Request, _response: Response, next: NextFunction) => {
    if (!carriesBody(request)) {
      next();
      return;
    }
    authenticator.authenticate(credentialHeadersOf(request)).then((caller) => {
      callers.set(request, caller);
      next();
    }, next);
  };
}

/** authorize() as Express middleware, for what is served outside controllers (/docs). */
export function requireScopeMiddleware(authenticator: Authenticator, scope: Scope): RequestHandler {
  return (request: Request, _response: Response, next: NextFunction) => {
    authorize(authenticator, request, scope).then(() => next(), next);
  };
}
