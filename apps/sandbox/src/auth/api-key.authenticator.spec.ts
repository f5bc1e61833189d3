import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { InvalidConfigError } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { sha256 } from './api-key-file';
import { ApiKeyAuthenticator } from './api-key.authenticator';

const CHECK_EVERY_MS = 1000;

function entry(name: string, scopes: string[] = ['execute']): Record<string, unknown> {
  return {
    name,
    key_sha256: sha256(`${name}-key`).toString('hex'),
    tenant: `tenant-${name}`,
    scopes,
  };
}

describe('ApiKeyAuthenticator', () => {
  let dir: string;
  let file: string;
  let now: number;
  let errors: jest.SpyInstance;

  const write = (text: string) => writeFileSync(file, text);
  const writeKeys = (...entries: Record<string, unknown>[]) => write(JSON.stringify(entries));
  const open = () =>
    ApiKeyAuthenticator.open(file, { checkEveryMs: CHECK_EVERY_MS, now: () => now });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'api-keys-'));
    file = join(dir, 'keys.json');
    now = 1_000_000;
    jest.spyOn(Logger.prototype, 'log').mockImplementation();
    jest.spyOn(Logger.prototype, 'warn').mockImplementation();
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation();
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  async function expectStatus(promise: Promise<unknown>, status: number): Promise<DomainError> {
    const error = await promise.then(
      () => null,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).status).toBe(status);
    return error as DomainError;
  }

  it('resolves a bearer key or an X-API-Key to its caller', async () => {
    writeKeys(entry('alice', ['execute', 'read']));
    const keys = await open();
    const caller = await keys.authenticate(bearer('alice-key'));
    expect(caller).toMatchObject({ tenant: 'tenant-alice', subject: 'alice', bearerToken: null });
    expect(caller.scopes).toEqual(new Set(['execute', 'read']));
    expect(await keys.authenticate({ 'x-api-key': 'alice-key' })).toBe(caller);
  });

  it('answers 401 without a key, with a bare challenge', async () => {
    writeKeys(entry('alice'));
    const error = await expectStatus((await open()).authenticate({}), 401);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.details.wwwAuthenticate).toBe('Bearer realm="brain-net-sandbox"');
  });

  it('answers 401 invalid_token for a wrong key', async () => {
    writeKeys(entry('alice'));
    const error = await expectStatus((await open()).authenticate(bearer('mallory-key')), 401);
    expect(error.details.wwwAuthenticate).toMatch(/error="invalid_token"/);
  });

  it.each([
    ['a missing file', null, /API_KEYS_FILE=".*keys\.json": ENOENT/],
    ['a broken file', '[{"name": "alice"', /API_KEYS_FILE=".*keys\.json": not JSON/],
    ['an invalid entry', JSON.stringify([{ ...entry('alice'), scopes: ['root'] }]), /scopes/],
  ])('stops the boot on %s, naming the file', async (_what, text, message) => {
    if (text !== null) write(text);
    await expect(open()).rejects.toThrow(InvalidConfigError);
    await expect(open()).rejects.toThrow(message);
  });

  it('picks up a changed file once the check interval has passed', async () => {
    writeKeys(entry('alice'));
    const keys = await open();
    writeKeys(entry('bob'));
    // Within the interval the file is not looked at.
    now += CHECK_EVERY_MS - 1;
    expect((await keys.authenticate(bearer('alice-key'))).subject).toBe('alice');
    await expectStatus(keys.authenticate(bearer('bob-key')), 401);
    now += 1;
    expect((await keys.authenticate(bearer('bob-key'))).subject).toBe('bob');
    await expectStatus(keys.authenticate(bearer('alice-key')), 401);
  });

  it('keeps the last good keys when the file breaks, logging the error once', async () => {
    writeKeys(entry('alice'));
    const keys = await open();
    write('[{"oops"');
    for (let i = 0; i < 3; i += 1) {
      now += CHECK_EVERY_MS;
      expect((await keys.authenticate(bearer('alice-key'))).subject).toBe('alice');
    }
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors).toHaveBeenCalledWith(expect.stringMatching(/not JSON.*previous keys stay/));
    writeKeys(entry('bob'));
    now += CHECK_EVERY_MS;
    expect((await keys.authenticate(bearer('bob-key'))).subject).toBe('bob');
  });

  it('keeps the last good keys while the file is gone, and reads it when it is back', async () => {
    writeKeys(entry('alice'));
    const keys = await open();
    rmSync(file);
    now += CHECK_EVERY_MS;
    expect((await keys.authenticate(bearer('alice-key'))).subject).toBe('alice');
    now += CHECK_EVERY_MS;
    await keys.authenticate(bearer('alice-key'));
    expect(errors).toHaveBeenCalledTimes(1);
    writeKeys(entry('alice'), entry('bob'));
    now += CHECK_EVERY_MS;
    expect((await keys.authenticate(bearer('bob-key'))).subject).toBe('bob');
  });
});
