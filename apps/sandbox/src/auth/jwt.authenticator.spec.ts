import { Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { JSONWebKeySet, SignJWT, createLocalJWKSet } from 'jose';
import { TokenIssuer } from './testing/token-issuer';
import { DomainError } from '../errors/domain-error';
import type { JwtSettings } from '../config/auth-settings';
import { JwtAuthenticator, scopesOf } from './jwt.authenticator';

const ISSUER = 'https://backend.test';
const AUDIENCE = 'brain-net-sandbox';
const CLAIMS: Omit<JwtSettings, 'keys'> = {
  issuer: ISSUER,
  audience: AUDIENCE,
  clockSkewS: 30,
  tenantClaim: 'tenant',
  scopesClaim: 'scope',
};
const TOKEN_CLAIMS = {
  iss: ISSUER,
  aud: AUDIENCE,
  sub: 'user-7',
  tenant: 'acme',
  scope: 'execute read',
};

const signingKey = (kid: string) => TokenIssuer.create(kid, TOKEN_CLAIMS);
const nowS = () => Math.floor(Date.now() / 1000);

const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const reason = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(reason).toBeInstanceOf(DomainError);
  return reason as DomainError;
}

describe('JwtAuthenticator', () => {
  let key: TokenIssuer;
  let jwt: JwtAuthenticator;

  beforeAll(async () => {
    key = await signingKey('k1');
    jwt = new JwtAuthenticator(CLAIMS, createLocalJWKSet(key.jwks), ['ES256']);
  });

  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation());
  afterEach(() => jest.restoreAllMocks());

  it('resolves a valid token to its tenant, subject and scopes, keeping the token', async () => {
    const raw = await key.sign();
    const caller = await jwt.authenticate(bearer(raw));
    expect(caller).toEqual({
      tenant: 'acme',
      subject: 'user-7',
      scopes: new Set(['execute', 'read']),
      bearerToken: raw,
    });
  });

  it.each([
    ['expired beyond the skew', { exp: nowS() - 40 }, /"exp" claim timestamp check failed/],
    ['not yet valid beyond the skew', { nbf: nowS() + 40 }, /"nbf" claim timestamp check failed/],
    ['for another audience', { aud: 'someone-else' }, /unexpected "aud" claim value/],
    ['from another issuer', { iss: 'https://evil.test' }, /unexpected "iss" claim value/],
    ['without an expiry', { exp: undefined }, /missing required "exp" claim/],
    ['without a tenant', { tenant: undefined }, /missing required "tenant" claim/],
    ['with an empty tenant', { tenant: '' }, /"tenant" claims must be non-empty strings/],
    ['with a numeric tenant', { tenant: 42 }, /"tenant" claims must be non-empty strings/],
  ])('answers 401 invalid_token for a token %s', async (_what, claims, message) => {
    const error = await failure(jwt.authenticate(bearer(await key.sign(claims))));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(message);
    expect(error.details.wwwAuthenticate).toMatch(/^Bearer realm=".*", error="invalid_token"/);
  });

  it('tolerates the configured clock skew', async () => {
    const expiredRecently = await key.sign({ exp: nowS() - 10, nbf: nowS() + 10 });
    expect((await jwt.authenticate(bearer(expiredRecently))).subject).toBe('user-7');
    const strict = new JwtAuthenticator({ ...CLAIMS, clockSkewS: 0 }, createLocalJWKSet(key.jwks), [
      'ES256',
    ]);
    expect((await failure(strict.authenticate(bearer(expiredRecently)))).status).toBe(401);
  });

  it('refuses a token signed by a key outside the set, a tampered one and garbage', async () => {
    const stranger = await signingKey('k1');
    expect((await failure(jwt.authenticate(bearer(await stranger.sign())))).message).toMatch(
      /signature verification failed/,
    );
    const [header, , signature] = (await key.sign()).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'root', tenant: 'acme' })).toString(
      'base64url',
    );
    expect(
      (await failure(jwt.authenticate(bearer(`${header}.${forged}.${signature}`)))).status,
    ).toBe(401);
    expect((await failure(jwt.authenticate(bearer('not-a-jwt')))).status).toBe(401);
  });

  it('refuses an algorithm it does not allow', async () => {
    const hmac = new JwtAuthenticator(CLAIMS, () => new TextEncoder().encode('s'.repeat(32)), [
      'HS256',
    ]);
    const error = await failure(hmac.authenticate(bearer(await key.sign())));
    expect(error.message).toMatch(/"alg" \(Algorithm\) Header Parameter value not allowed/);
  });

  it('answers 401 without a token, and for an X-API-Key', async () => {
    const missing = await failure(jwt.authenticate({}));
    expect(missing.details.wwwAuthenticate).toBe('Bearer realm="brain-net-sandbox"');
    const apiKey = await failure(jwt.authenticate({ 'x-api-key': await key.sign() }));
    expect(apiKey.details.wwwAuthenticate).toMatch(/error="invalid_request"/);
  });

  it('verifies HS256 tokens with a shared secret', async () => {
    const secret = 'a-secret-shared-with-the-backend-0123456789';
    const shared = JwtAuthenticator.create({ ...CLAIMS, keys: { secret } });
    const raw = await new SignJWT({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'svc',
      tenant: 't',
      scope: [],
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(secret));
    const caller = await shared.authenticate(bearer(raw));
    expect(caller).toMatchObject({ tenant: 't', subject: 'svc', scopes: new Set() });
    const forged = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'svc', tenant: 't' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode('another-secret-of-the-same-length-0123456'));
    expect((await failure(shared.authenticate(bearer(forged)))).status).toBe(401);
  });

  describe('with a remote key set', () => {
    let server: Server;
    let served: JSONWebKeySet | null;
    let fetches: number;
    let url: string;

    beforeAll(async () => {
      server = createServer((_request, response) => {
        fetches += 1;
        if (served) response.writeHead(200).end(JSON.stringify(served));
        else response.writeHead(500).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    beforeEach(() => {
      fetches = 0;
    });

    const remote = (cooldownMs: number) =>
      JwtAuthenticator.create({ ...CLAIMS, keys: { jwksUrl: url, cooldownMs } });

    it('caches the set, and refetches it for the unknown key id of a rotation', async () => {
      served = key.jwks;
      const jwt = remote(0);
      await jwt.authenticate(bearer(await key.sign()));
      await jwt.authenticate(bearer(await key.sign()));
      expect(fetches).toBe(1);
      const rotated = await signingKey('k2');
      served = rotated.jwks;
      expect((await jwt.authenticate(bearer(await rotated.sign()))).subject).toBe('user-7');
      expect(fetches).toBe(2);
      // The retired key is gone from the new set.
      expect((await failure(jwt.authenticate(bearer(await key.sign())))).status).toBe(401);
    });

    it('does not refetch for unknown key ids within the cooldown', async () => {
      served = key.jwks;
      const jwt = remote(60_000);
      await jwt.authenticate(bearer(await key.sign()));
      const rotated = await signingKey('k2');
      served = rotated.jwks;
      const error = await failure(jwt.authenticate(bearer(await rotated.sign())));
      expect(error.message).toMatch(/no applicable key found/);
      expect(fetches).toBe(1);
    });

    it('answers 502 BACKEND_UNAVAILABLE when the set cannot be fetched', async () => {
      served = null;
      const error = await failure(remote(0).authenticate(bearer(await key.sign())));
      expect(error.code).toBe('BACKEND_UNAVAILABLE');
      expect(error.status).toBe(502);
    });
  });
});

describe('scopesOf', () => {
  it.each([
    ['execute read', ['execute', 'read']],
    ['  admin   openid ', ['admin']],
    [
      ['adjust', 'read', 7, 'email'],
      ['adjust', 'read'],
    ],
    [undefined, []],
    [{ execute: true }, []],
  ])('reads %j as %j', (claim, scopes) => {
    expect(scopesOf(claim)).toEqual(new Set(scopes));
  });
});
