import { JSONWebKeySet, JWTPayload, KeyLike, SignJWT, exportJWK, generateKeyPair } from 'jose';

/**
 * Issues ES256 tokens as the main backend would, under one key id, and publishes the
 * matching public key as a JSON Web Key Set.
 */
export class TokenIssuer {
  private constructor(
    readonly kid: string,
    readonly jwks: JSONWebKeySet,
    private readonly privateKey: KeyLike,
    private readonly claims: JWTPayload,
  ) {}

  /** `claims` go into every token (with iat, and exp five minutes on). */
  static async create(kid: string, claims: JWTPayload): Promise<TokenIssuer> {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    return new TokenIssuer(kid, { keys: [jwk] }, privateKey, claims);
  }

  /** A signed token; `claims` override the issuer's (undefined leaves one out). */
  sign(claims: JWTPayload = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iat: now, exp: now + 300, ...this.claims, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: this.kid })
      .sign(this.privateKey);
  }
}
