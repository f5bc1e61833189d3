import { ValidateBy } from 'class-validator';

export const AUTH_MODES = ['none', 'api-key', 'jwt'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** An HS256 secret shorter than its 256-bit hash is guessable offline from one token. */
export const MIN_JWT_SECRET_LENGTH = 32;

/** The authentication variables of the environment, as EnvironmentVariables holds them. */
export interface AuthEnvironment {
  readonly AUTH_MODE: AuthMode;
  readonly API_KEYS_FILE: string;
  readonly AUTH_JWKS_URL: string;
  readonly AUTH_JWKS_COOLDOWN_S: number;
  readonly AUTH_JWT_SECRET: string;
  readonly AUTH_JWT_ISSUER: string;
  readonly AUTH_JWT_AUDIENCE: string;
  readonly AUTH_JWT_CLOCK_SKEW_S: number;
  readonly AUTH_TENANT_CLAIM: string;
  readonly AUTH_SCOPES_CLAIM: string;
  readonly AUTH_PROTECT_DOCS: boolean;
  /** Unset: protected whenever authentication is on. */
  readonly AUTH_PROTECT_METRICS?: boolean;
}

/** Where the keys that verify tokens come from. */
export type JwtKeySource =
  /** The backend's JSON Web Key Set, cached; refetched for an unknown key id. */
  | { readonly jwksUrl: string; readonly cooldownMs: number }
  /** A secret shared with the backend (HS256). */
  | { readonly secret: string };

export interface JwtSettings {
  readonly keys: JwtKeySource;
  readonly issuer: string;
  readonly audience: string;
  readonly clockSkewS: number;
  readonly tenantClaim: string;
  readonly scopesClaim: string;
}

/** Routes that are open unless a setting protects them (then they need `admin`). */
export interface ProtectableRoutes {
  readonly protectDocs: boolean;
  readonly protectMetrics: boolean;
}

export type AuthSettings = ProtectableRoutes & {
  /**
   * /metrics shows executions by tenant: tenant names and their load are for admins,
   * so an open /metrics of a service with tenants leaves those series out.
   */
  readonly metricsByTenant: boolean;
} & (
    | { readonly mode: 'none' }
    | { readonly mode: 'api-key'; readonly apiKeysFile: string }
    | { readonly mode: 'jwt'; readonly jwt: JwtSettings }
  );

/** Rules across variables; empty when the environment is consistent. */
export function authSettingProblems(env: AuthEnvironment): string[] {
  switch (env.AUTH_MODE) {
    case 'none':
      // Likely a forgotten AUTH_MODE: refuse to start open rather than guess.
      return ['API_KEYS_FILE', 'AUTH_JWKS_URL', 'AUTH_JWT_SECRET']
        .filter((name) => env[name as keyof AuthEnvironment] !== '')
        .map((name) => `${name} is set but AUTH_MODE=none: set AUTH_MODE to api-key or jwt`);
    case 'api-key':
      return env.API_KEYS_FILE === '' ? ['AUTH_MODE=api-key needs API_KEYS_FILE'] : [];
    case 'jwt':
      return jwtProblems(env);
    default:
      // An unknown mode is reported by AUTH_MODE's own rule.
      return [];
  }
}

function jwtProblems(env: AuthEnvironment): string[] {
  const problems: string[] = [];
  if ((env.AUTH_JWKS_URL === '') === (env.AUTH_JWT_SECRET === '')) {
    problems.push('AUTH_MODE=jwt needs exactly one of AUTH_JWKS_URL or AUTH_JWT_SECRET');
  }
  if (env.AUTH_JWT_SECRET !== '' && env.AUTH_JWT_SECRET.length < MIN_JWT_SECRET_LENGTH) {
    problems.push(`AUTH_JWT_SECRET must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }
  if (env.AUTH_JWT_ISSUER === '') problems.push('AUTH_MODE=jwt needs AUTH_JWT_ISSUER');
  if (env.AUTH_JWT_AUDIENCE === '') problems.push('AUTH_MODE=jwt needs AUTH_JWT_AUDIENCE');
  return problems;
}

/**
 * Checks authSettingProblems() on the decorated property's object, so the rules across
 * variables are reported with every other bad setting (never echoing the secret).
 */
export function ValidateAuthSettings(): PropertyDecorator {
  return ValidateBy({
    name: 'authSettings',
    validator: {
      validate: (_value, args) => authSettingProblems(args?.object as AuthEnvironment).length === 0,
      defaultMessage: (args) => authSettingProblems(args?.object as AuthEnvironment).join('; '),
    },
  });
}

/** `true`/`false` (also 1/0, yes/no, any case) from an environment string. */
export function toFlag({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const lower = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(lower)) return true;
  if (['false', '0', 'no'].includes(lower)) return false;
  return value;
}

/** The validated environment's authentication settings. */
export function authSettingsOf(env: AuthEnvironment): AuthSettings {
  const protectMetrics = env.AUTH_PROTECT_METRICS ?? env.AUTH_MODE !== 'none';
  const routes = {
    protectDocs: env.AUTH_PROTECT_DOCS,
    protectMetrics,
    // AUTH_MODE=none has one tenant, 'default': nothing to hide.
    metricsByTenant: protectMetrics || env.AUTH_MODE === 'none',
  };
  switch (env.AUTH_MODE) {
    case 'none':
      return { ...routes, mode: 'none' };
    case 'api-key':
      return { ...routes, mode: 'api-key', apiKeysFile: env.API_KEYS_FILE };
    case 'jwt':
      return {
        ...routes,
        mode: 'jwt',
        jwt: {
          keys:
            env.AUTH_JWKS_URL !== ''
              ? { jwksUrl: env.AUTH_JWKS_URL, cooldownMs: env.AUTH_JWKS_COOLDOWN_S * 1000 }
              : { secret: env.AUTH_JWT_SECRET },
          issuer: env.AUTH_JWT_ISSUER,
          audience: env.AUTH_JWT_AUDIENCE,
          clockSkewS: env.AUTH_JWT_CLOCK_SKEW_S,
          tenantClaim: env.AUTH_TENANT_CLAIM,
          scopesClaim: env.AUTH_SCOPES_CLAIM,
        },
      };
  }
}
