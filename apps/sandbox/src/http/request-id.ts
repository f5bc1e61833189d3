import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTED_ID = /^[\w.:-]{1,128}$/;
const requestIds = new WeakMap<Request, string>();

/** Gives each request an id: the caller's X-Request-Id when sane, else a new UUID. */
export function assignRequestId(request: Request, response: Response, next: NextFunction): void {
  const offered = request.header(REQUEST_ID_HEADER);
  const id = offered && ACCEPTED_ID.test(offered) ? offered : randomUUID();
  requestIds.set(request, id);
  response.setHeader(REQUEST_ID_HEADER, id);
  next();
}

export function requestIdOf(request: Request): string {
  return requestIds.get(request) ?? 'unknown';
}
