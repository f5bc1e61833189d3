/** What a caller may do. `admin` may do everything, in every tenant. */
export const SCOPES = ['execute', 'read', 'adjust', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: resolved once per request by the auth guard, before any controller. */
export interface Caller {
  /** The tenant whose records this caller sees (and creates). */
  readonly tenant: string;
  /** The API key's name or the token's subject: recorded as the creator of what it makes. */
  readonly subject: string;
  readonly scopes: ReadonlySet<Scope>;
  /** The caller's own bearer token (jwt mode), forwarded to the backend on its behalf. */
  readonly bearerToken: string | null;
}

/** The tenant of every record made without authentication (AUTH_MODE=none). */
export const DEFAULT_TENANT = 'default';

/** AUTH_MODE=none: everyone is this caller. */
export const ANONYMOUS_CALLER: Caller = {
  tenant: DEFAULT_TENANT,
  subject: 'anonymous',
  scopes: new Set<Scope>(SCOPES),
  bearerToken: null,
};

export function isAdmin(caller: Caller): boolean {
  return caller.scopes.has('admin');
}

/** Whether the caller may see a record of `tenant`: its own tenant's, or any for an admin. */
export function canSee(caller: Caller, tenant: string): boolean {
  return isAdmin(caller) || caller.tenant === tenant;
}

/** The tenant whose records the caller may read; null (every tenant's) for an admin. */
export function readableTenant(caller: Caller): string | null {
  return isAdmin(caller) ? null : caller.tenant;
}

/**
 * The tenant a listing shows: the caller's own; an admin's choice, or every tenant's
 * (null) when an admin names none. Naming another tenant without `admin` sees nothing
 * of it: the caller's own records, as if it had named none.
 */
export function listingTenant(caller: Caller, requested: string | undefined): string | null {
  return isAdmin(caller) ? (requested ?? null) : readableTenant(caller);
}
