import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { InvalidConfigError, loadConfig } from '../config/app-config';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { AnonymousAuthenticator } from './authenticator';
import { AuthModule, createAuthenticator, isLoopbackHost } from './auth.module';
import { JwtAuthenticator } from './jwt.authenticator';

describe('createAuthenticator', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auth-module-'));
    jest.spyOn(Logger.prototype, 'log').mockImplementation();
    jest.spyOn(Logger.prototype, 'warn').mockImplementation();
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds the adapter of each mode', async () => {
    const keys = join(dir, 'keys.json');
    writeFileSync(keys, '[]');
    expect(await createAuthenticator(loadConfig({}).auth)).toBeInstanceOf(AnonymousAuthenticator);
    expect(
      await createAuthenticator(loadConfig({ AUTH_MODE: 'api-key', API_KEYS_FILE: keys }).auth),
    ).toBeInstanceOf(ApiKeyAuthenticator);
    const jwt = loadConfig({
      AUTH_MODE: 'jwt',
      AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
      AUTH_JWT_ISSUER: 'i',
      AUTH_JWT_AUDIENCE: 'a',
    });
    expect(await createAuthenticator(jwt.auth)).toBeInstanceOf(JwtAuthenticator);
  });

  it('stops the boot with a plain message when the key file is broken', async () => {
    const keys = join(dir, 'keys.json');
    writeFileSync(keys, '{"name": "alice"}');
    const config = loadConfig({ AUTH_MODE: 'api-key', API_KEYS_FILE: keys });
    await expect(createAuthenticator(config.auth)).rejects.toThrow(InvalidConfigError);
    await expect(createAuthenticator(config.auth)).rejects.toThrow(
      /API_KEYS_FILE=.*expected array/,
    );
  });
});

describe('AuthModule at start-up', () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation();
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation();
  });

  afterEach(() => jest.restoreAllMocks());

  it('warns when AUTH_MODE=none listens beyond loopback', () => {
    new AuthModule(loadConfig({ HOST: '0.0.0.0' })).onApplicationBootstrap();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/AUTH_MODE=none on HOST=0\.0\.0\.0/));
  });

  it('stays quiet on loopback, and with authentication', () => {
    new AuthModule(loadConfig({ HOST: '127.0.0.1' })).onApplicationBootstrap();
    new AuthModule(
      loadConfig({ AUTH_MODE: 'api-key', API_KEYS_FILE: '/k.json' }),
    ).onApplicationBootstrap();
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1'])(
    '%s is loopback',
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );

  it.each(['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'sandbox.internal', '127.example.com'])(
    '%s is not',
    (host) => expect(isLoopbackHost(host)).toBe(false),
  );
});
