import { DomainError } from '../errors/domain-error';
import { credentialOf } from './credentials';

describe('credentialOf', () => {
  it.each([
    [{ authorization: 'Bearer abc.def-_~+/=' }, { kind: 'bearer', value: 'abc.def-_~+/=' }],
    [{ authorization: 'bearer  k1 ' }, { kind: 'bearer', value: 'k1' }],
    [{ 'x-api-key': 'k1' }, { kind: 'api-key', value: 'k1' }],
    [{}, null],
  ])('reads %j as %j', (headers, credential) => {
    expect(credentialOf(headers)).toEqual(credential);
  });

  it.each([
    [{ authorization: 'Basic dXNlcjpwYXNz' }, /"Bearer <credential>"/],
    [{ authorization: 'Bearer' }, /"Bearer <credential>"/],
    [{ authorization: 'Bearer a b' }, /"Bearer <credential>"/],
    [{ authorization: 'Bearer k1', 'x-api-key': 'k1' }, /not both/],
    [{ 'x-api-key': 'k1, k2' }, /exactly one key/],
    [{ 'x-api-key': ['k1', 'k2'] }, /exactly one key/],
    // Repeated headers, as credentialHeadersOf() joins them.
    [{ authorization: 'Bearer k1\nBearer k2' }, /one credential header, not several/],
    [{ 'x-api-key': 'k1\nk2' }, /one credential header, not several/],
  ])('refuses %j with 401 invalid_request', (headers, message) => {
    let thrown: unknown;
    try {
      credentialOf(headers);
    } catch (error: unknown) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect((thrown as DomainError).code).toBe('UNAUTHENTICATED');
    expect((thrown as DomainError).message).toMatch(message);
    expect((thrown as DomainError).details.wwwAuthenticate).toMatch(/error="invalid_request"/);
  });
});
