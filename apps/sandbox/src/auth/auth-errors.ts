import { DomainError } from '../errors/domain-error';
import type { Scope } from './caller';

const REALM = 'brain-net-sandbox';

/** RFC 6750's error codes for a 401. */
export type BearerError = 'invalid_request' | 'invalid_token';

/**
 * 401. Without `error` the request carried no credentials at all, and RFC 6750 wants the
 * challenge bare; with one, it names what was wrong.
 */
export function unauthenticated(detail: string, error?: BearerError): DomainError {
  const challenge = error
    ? bearerChallenge({ error, error_description: detail })
    : bearerChallenge();
  return new DomainError('UNAUTHENTICATED', detail, { wwwAuthenticate: challenge });
}

/** 403: a known caller without the scope the route needs. */
export function forbidden(scope: Scope): DomainError {
  return new DomainError('FORBIDDEN', `This needs the "${scope}" scope, which the caller lacks.`, {
    wwwAuthenticate: bearerChallenge({ error: 'insufficient_scope', scope }),
  });
}

function bearerChallenge(params: Record<string, string> = {}): string {
  // Quoted-string values: a quote or backslash in a description would end it early.
  const quoted = (value: string) => `"${value.replace(/["\\]/g, "'")}"`;
  return [`Bearer realm=${quoted(REALM)}`]
    .concat(Object.entries(params).map(([name, value]) => `${name}=${quoted(value)}`))
    .join(', ');
}
