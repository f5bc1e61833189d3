import { EventEmitter } from 'node:events';
import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../errors/domain-error';
import { limitConcurrentUploads } from './upload-slots';

/** A request that announces a body, from `tenant`, and its response. */
function upload(tenant: string) {
  const request = { headers: { 'content-length': '10', 'x-tenant': tenant } } as unknown as Request;
  const response = new EventEmitter() as unknown as Response;
  return { request, response };
}

describe('limitConcurrentUploads', () => {
  const limit = limitConcurrentUploads({ max: 3, maxPerTenant: 2 }, (request) =>
    String(request.headers['x-tenant']),
  );
  const send = (tenant: string) => {
    const exchange = upload(tenant);
    const next = jest.fn<void, [unknown?]>();
    limit(exchange.request, exchange.response, next as NextFunction);
    const [error] = next.mock.calls[0] ?? [];
    return { ...exchange, error: error as DomainError | undefined };
  };

  it('keeps one tenant to its share, and the instance to its bound; a closed answer frees both', () => {
    const a1 = send('a');
    const a2 = send('a');
    expect([a1.error, a2.error]).toEqual([undefined, undefined]);
    const a3 = send('a');
    expect(a3.error).toMatchObject({ code: 'TENANT_TOO_MANY_UPLOADS', status: 429 });
    expect(a3.error?.details.retryAfterS).toBe(1);

    expect(send('b').error).toBeUndefined();
    // Three bodies under way: the instance is full for everyone.
    expect(send('c').error).toMatchObject({ code: 'TOO_MANY_UPLOADS', status: 503 });

    a1.response.emit('close');
    a1.response.emit('close'); // released once, however often it closes
    expect(send('c').error).toBeUndefined();
    expect(send('a').error).toMatchObject({ code: 'TOO_MANY_UPLOADS' });
  });

  it('takes no slot for a request without a body', () => {
    const request = { headers: {} } as unknown as Request;
    const next = jest.fn();
    for (let i = 0; i < 5; i += 1) {
      limit(request, new EventEmitter() as unknown as Response, next as NextFunction);
    }
    expect(next.mock.calls).toEqual(Array.from({ length: 5 }, () => []));
  });
});
