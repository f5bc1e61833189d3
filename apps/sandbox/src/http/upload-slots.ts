import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DomainError } from '../errors/domain-error';

/** How each request that holds an upload slot gives it back. */
const uploadSlots = new WeakMap<Request, () => void>();

/** Gives back the request's upload slot, if it holds one: its body is parsed. */
export function releaseUploadSlot(request: Request): void {
  uploadSlots.get(request)?.();
}

export interface UploadLimits {
  /** Bodies received at once on this instance: what bounds the memory they hold. */
  readonly max: number;
  /** Bodies one tenant may have under way at once: its share of `max`. */
  readonly maxPerTenant: number;
}

/**
 * Bounds the request bodies held at once, from the first byte until they are parsed
 * into fields (bodies waiting for their turn to be walked included), so that many slow
 * or large uploads cannot hold more than `max` × the body limit in memory; the rest get
 * 503. Each tenant (known before its body: `tenantOf`) holds at most `maxPerTenant` of
 * them, so one tenant's trickled bodies cannot take every slot from the others: its
 * further bodies get 429.
 */
export function limitConcurrentUploads(
  limits: UploadLimits,
  tenantOf: (request: Request) => string,
): RequestHandler {
  let receiving = 0;
  const perTenant = new Map<string, number>();
  return (request: Request, response: Response, next: NextFunction) => {
    if (!carriesBody(request)) {
      next();
      return;
    }
    // The instance's bound first: a full instance is busy (503) whoever asks.
    if (receiving >= limits.max) {
      next(
        new DomainError(
          'TOO_MANY_UPLOADS',
          `${limits.max} request bodies are being received already.`,
          { retryAfterS: 1 },
        ),
      );
      return;
    }
    const tenant = tenantOf(request);
    const tenantReceiving = perTenant.get(tenant) ?? 0;
    if (tenantReceiving >= limits.maxPerTenant) {
      next(
        new DomainError(
          'TENANT_TOO_MANY_UPLOADS',
          `Tenant ${tenant} is sending ${tenantReceiving} request bodies already, as many as it may at once.`,
          { retryAfterS: 1 },
        ),
      );
      return;
    }
    receiving += 1;
    perTenant.set(tenant, tenantReceiving + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      receiving -= 1;
      const left = (perTenant.get(tenant) ?? 1) - 1;
      if (left > 0) perTenant.set(tenant, left);
      else perTenant.delete(tenant);
    };
    uploadSlots.set(request, release);
    // Parsed (parseJsonBody releases it), or else answered or abandoned.
    response.once('close', release);
    next();
  };
}

/** Whether a request announces a body (a length, or a chunked one). */
export function carriesBody(request: Request): boolean {
  return (
    request.headers['transfer-encoding'] !== undefined ||
    Number(request.headers['content-length'] ?? 0) > 0
  );
}
