import { InvalidConfigError, loadConfig } from './app-config';

const SECRET = 's'.repeat(32);
const JWT = { AUTH_MODE: 'jwt', AUTH_JWT_ISSUER: 'https://backend', AUTH_JWT_AUDIENCE: 'sandbox' };

describe('authentication settings', () => {
  it('defaults to AUTH_MODE=none with docs and metrics open', () => {
    expect(loadConfig({}).auth).toEqual({
      mode: 'none',
      protectDocs: false,
      protectMetrics: false,
      metricsByTenant: true,
    });
  });

  it('protects /metrics by default once authentication is on', () => {
    for (const env of [
      { AUTH_MODE: 'api-key', API_KEYS_FILE: '/etc/keys.json' },
      { ...JWT, AUTH_JWT_SECRET: SECRET },
    ]) {
      expect(loadConfig(env).auth).toMatchObject({
        protectDocs: false,
        protectMetrics: true,
        metricsByTenant: true,
      });
    }
  });

  it('opens /metrics only when told to, and then without the per-tenant series', () => {
    const config = loadConfig({ ...JWT, AUTH_JWT_SECRET: SECRET, AUTH_PROTECT_METRICS: 'false' });
    expect(config.auth).toMatchObject({ protectMetrics: false, metricsByTenant: false });
  });

  it('reads api-key mode and the protection flags', () => {
    const config = loadConfig({
      AUTH_MODE: 'api-key',
      API_KEYS_FILE: '/etc/keys.json',
      AUTH_PROTECT_DOCS: 'TRUE',
      AUTH_PROTECT_METRICS: '1',
    });
    expect(config.auth).toEqual({
      mode: 'api-key',
      apiKeysFile: '/etc/keys.json',
      protectDocs: true,
      protectMetrics: true,
      metricsByTenant: true,
    });
  });

  it('reads jwt mode with a key set, and its defaults', () => {
    const config = loadConfig({ ...JWT, AUTH_JWKS_URL: 'http://backend:8000/jwks.json' });
    expect(config.auth).toMatchObject({
      mode: 'jwt',
      jwt: {
        keys: { jwksUrl: 'http://backend:8000/jwks.json', cooldownMs: 30_000 },
        issuer: 'https://backend',
        audience: 'sandbox',
        clockSkewS: 30,
        tenantClaim: 'tenant',
        scopesClaim: 'scope',
      },
    });
  });

  it('reads jwt mode with a shared secret and custom claims', () => {
    const config = loadConfig({
      ...JWT,
      AUTH_JWT_SECRET: SECRET,
      AUTH_JWT_CLOCK_SKEW_S: '5',
      AUTH_TENANT_CLAIM: 'org',
      AUTH_SCOPES_CLAIM: 'permissions',
    });
    expect(config.auth).toMatchObject({
      mode: 'jwt',
      jwt: {
        keys: { secret: SECRET },
        clockSkewS: 5,
        tenantClaim: 'org',
        scopesClaim: 'permissions',
      },
    });
  });

  it.each([
    [{ AUTH_MODE: 'api-key' }, /AUTH_MODE=api-key needs API_KEYS_FILE/],
    [JWT, /exactly one of AUTH_JWKS_URL or AUTH_JWT_SECRET/],
    [
      { ...JWT, AUTH_JWKS_URL: 'http://backend/jwks', AUTH_JWT_SECRET: SECRET },
      /exactly one of AUTH_JWKS_URL or AUTH_JWT_SECRET/,
    ],
    [
      { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET },
      /needs AUTH_JWT_ISSUER.*needs AUTH_JWT_AUDIENCE/,
    ],
    [{ API_KEYS_FILE: '/etc/keys.json' }, /API_KEYS_FILE is set but AUTH_MODE=none/],
    [{ AUTH_JWKS_URL: 'http://backend/jwks' }, /AUTH_JWKS_URL is set but AUTH_MODE=none/],
    [{ AUTH_MODE: 'oauth' }, /AUTH_MODE must be one of none, api-key, jwt/],
    [{ ...JWT, AUTH_JWKS_URL: 'not a url' }, /AUTH_JWKS_URL="not a url"/],
    [{ AUTH_PROTECT_DOCS: 'maybe' }, /AUTH_PROTECT_DOCS must be true or false/],
    [{ AUTH_PROTECT_METRICS: 'maybe' }, /AUTH_PROTECT_METRICS must be true or false/],
  ])('refuses to start with %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(InvalidConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('refuses a short secret without echoing it', () => {
    const load = () => loadConfig({ ...JWT, AUTH_JWT_SECRET: 'hunter2-but-longer' });
    expect(load).toThrow(/AUTH_JWT_SECRET must be at least 32 characters/);
    expect(load).not.toThrow(/hunter2/);
  });
});
