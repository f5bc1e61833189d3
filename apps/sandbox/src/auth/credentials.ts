import type { IncomingHttpHeaders } from 'node:http';
import { unauthenticated } from './auth-errors';

/** What a request presented: a bearer credential (a key or a token) or an X-API-Key. */
export interface Credential {
  readonly kind: 'bearer' | 'api-key';
  readonly value: string;
}

const BEARER = /^Bearer +(\S+) *$/i;

/** The request's one credential, null when it has none; ambiguous or malformed ones are a 401. */
export function credentialOf(headers: IncomingHttpHeaders): Credential | null {
  const { authorization } = headers;
  const apiKey = headers['x-api-key'];
  if (authorization !== undefined && apiKey !== undefined) {
    throw unauthenticated('Send either Authorization or X-API-Key, not both.', 'invalid_request');
  }
  if (authorization?.includes('\n') || apiKey?.includes('\n')) {
    throw unauthenticated('Send one credential header, not several.', 'invalid_request');
  }
  if (authorization !== undefined) {
    const bearer = BEARER.exec(authorization);
    if (!bearer) {
      throw unauthenticated('Authorization must be "Bearer <credential>".', 'invalid_request');
    }
    return { kind: 'bearer', value: bearer[1] };
  }
  if (apiKey !== undefined) {
    // node:http joins repeated X-API-Key headers with ", ": one key never holds a space.
    if (typeof apiKey !== 'string' || !/^\S+$/.test(apiKey)) {
      throw unauthenticated('X-API-Key must hold exactly one key.', 'invalid_request');
    }
    return { kind: 'api-key', value: apiKey };
  }
  return null;
}
