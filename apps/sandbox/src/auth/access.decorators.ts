import {
  ExecutionContext,
  SetMetadata,
  applyDecorators,
  createParamDecorator,
} from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiProblem } from '../errors/problem-details.dto';
import { RouteAccess, callerOf } from './access';
import type { ProtectableRoutes } from '../config/auth-settings';
import type { Caller, Scope } from './caller';

export const ROUTE_ACCESS = 'brain-net:route-access';

/** The security schemes of the OpenAPI document (see configureApp). */
export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'api-key';

/** Open to everyone, in every AUTH_MODE. */
export const Public = (): MethodDecorator & ClassDecorator =>
  SetMetadata<string, RouteAccess>(ROUTE_ACCESS, { kind: 'public' });

/** Needs a caller holding `scope` (or `admin`): 401 without credentials, 403 without it. */
export function RequireScope(scope: Scope): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata<string, RouteAccess>(ROUTE_ACCESS, { kind: 'scope', scope }),
    ApiCredentials(),
    ApiProblem(403, `The caller lacks the "${scope}" scope`),
  );
}

/** Open, unless the setting (AUTH_PROTECT_…) is on: then it needs `admin`. */
export function OpenUnlessProtected(
  setting: keyof ProtectableRoutes,
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata<string, RouteAccess>(ROUTE_ACCESS, { kind: 'protectable', setting }),
    ApiCredentials(),
  );
}

/** Either scheme will do (separate requirement objects: OpenAPI's "or"). */
function ApiCredentials(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiBearerAuth(BEARER_SCHEME),
    ApiSecurity(API_KEY_SCHEME),
    ApiProblem(401, 'No credentials, or invalid ones; see WWW-Authenticate'),
  );
}

/** The request's Caller (ANONYMOUS_CALLER with AUTH_MODE=none); not on a @Public() route. */
export const CurrentCaller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Caller =>
    callerOf(context.switchToHttp().getRequest<Request>()),
);
