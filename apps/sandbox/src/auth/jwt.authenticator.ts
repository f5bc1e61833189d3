import type { IncomingHttpHeaders } from 'node:http';
import { Logger } from '@nestjs/common';
import { JWTPayload, JWTVerifyGetKey, createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { DomainError } from '../errors/domain-error';
import { unauthenticated } from './auth-errors';
import type { JwtSettings } from '../config/auth-settings';
import { Authenticator } from './authenticator';
import { Caller, SCOPES, Scope } from './caller';
import { credentialOf } from './credentials';

/** A key set only ever holds public keys: never let a token pick HMAC (or `none`) against one. */
const ASYMMETRIC_ALGORITHMS = [
  ...['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  ...['ES256', 'ES384', 'ES512', 'EdDSA'],
];

/** jose's errors that mean the token is bad; anything else is about fetching the keys. */
const TOKEN_ERRORS = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
];

/** The claims checked and read: everything of JwtSettings but where the keys come from. */
export type JwtClaimSettings = Omit<JwtSettings, 'keys'>;

/**
 * AUTH_MODE=jwt: bearer tokens issued by the main backend, verified with jose (issuer,
 * audience, expiry with clock skew) against its key set or a shared HS256 secret.
 */
export class JwtAuthenticator extends Authenticator {
  private readonly logger = new Logger('Jwt');

  constructor(
    private readonly settings: JwtClaimSettings,
    private readonly key: JWTVerifyGetKey,
    private readonly algorithms: string[],
  ) {
    super();
  }

  static create(settings: JwtSettings): JwtAuthenticator {
    const { keys } = settings;
    if ('secret' in keys) {
      const secret = new TextEncoder().encode(keys.secret);
      return new JwtAuthenticator(settings, () => secret, ['HS256']);
    }
    // Cached; an unknown key id (a rotation) refetches, at most once per cooldown.
    const keySet = createRemoteJWKSet(new URL(keys.jwksUrl), { cooldownDuration: keys.cooldownMs });
    return new JwtAuthenticator(settings, keySet, ASYMMETRIC_ALGORITHMS);
  }

  async authenticate(headers: IncomingHttpHeaders): Promise<Caller> {
    const credential = credentialOf(headers);
    if (!credential) throw unauthenticated('Send a bearer token: "Authorization: Bearer <token>".');
    if (credential.kind !== 'bearer') {
      throw unauthenticated('This service takes bearer tokens, not X-API-Key.', 'invalid_request');
    }
    return this.callerOf(await this.verify(credential.value), credential.value);
  }

  private async verify(token: string): Promise<JWTPayload> {
    const { issuer, audience, clockSkewS, tenantClaim } = this.settings;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer,
        audience,
        clockTolerance: clockSkewS,
        algorithms: this.algorithms,
        // jose checks exp only when present: a token must expire.
        requiredClaims: ['exp', 'sub', tenantClaim],
      });
      return payload;
    } catch (error: unknown) {
      if (TOKEN_ERRORS.some((type) => error instanceof type)) {
        throw unauthenticated(
          `The token is not valid: ${(error as Error).message}.`,
          'invalid_token',
        );
      }
      this.logger.warn(`the keys that verify tokens could not be fetched: ${String(error)}`);
      throw new DomainError(
        'BACKEND_UNAVAILABLE',
        'The keys that verify tokens could not be fetched; try again shortly.',
      );
    }
  }

  private callerOf(payload: JWTPayload, token: string): Caller {
    const { tenantClaim, scopesClaim } = this.settings;
    const tenant = payload[tenantClaim];
    if (!isNonEmptyString(tenant) || !isNonEmptyString(payload.sub)) {
      throw unauthenticated(
        `The token's "sub" and "${tenantClaim}" claims must be non-empty strings.`,
        'invalid_token',
      );
    }
    return {
      tenant,
      subject: payload.sub,
      scopes: scopesOf(payload[scopesClaim]),
      bearerToken: token,
    };
  }
}

/** OAuth's space-separated string, or an array; scopes this service does not know are ignored. */
export function scopesOf(claim: unknown): ReadonlySet<Scope> {
  const names: unknown[] =
    typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
  return new Set(names.filter(isScope));
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isScope(name: unknown): name is Scope {
  return (SCOPES as readonly unknown[]).includes(name);
}
