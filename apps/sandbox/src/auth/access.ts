import { carriesBody } from '../http/json-body';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { forbidden } from './auth-errors';
import type { ProtectableRoutes } from './auth-settings';
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
  const caller = callers.get(request) ?? (await authenticator.authenticate(request.headers));
  callers.set(request, caller);
  if (!hasScope(caller, scope)) throw forbidden(scope);
}

/**
 * Authenticates a request that carries a body before the body is read: an unknown
 * caller never holds an upload slot nor costs a parse. The guard checks the scope later.
 */
export function authenticateBeforeBody(authenticator: Authenticator): RequestHandler {
  return (request: Request, _response: Response, next: NextFunction) => {
    if (!carriesBody(request)) {
      next();
      return;
    }
    authenticator.authenticate(request.headers).then((caller) => {
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
