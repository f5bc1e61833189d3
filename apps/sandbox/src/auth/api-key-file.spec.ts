import { execFileSync } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import {
  ApiKeyFileError,
  StoredApiKey,
  matchApiKey,
  parseApiKeyFile,
  sha256,
} from './api-key-file';

// Spied on: the matching must go through it for every stored key.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

const hex = (key: string) => sha256(key).toString('hex');

function keyFile(...entries: Record<string, unknown>[]): string {
  return JSON.stringify(entries);
}

const ALICE = { name: 'alice', key_sha256: hex('alice-key'), tenant: 't1', scopes: ['execute'] };
const BOB = { name: 'bob', key_sha256: hex('bob-key'), tenant: 't2', scopes: ['read', 'adjust'] };

describe('parseApiKeyFile', () => {
  it('turns each entry into a caller, keeping only the hash', () => {
    const [alice, bob] = parseApiKeyFile(keyFile(ALICE, BOB));
    expect(alice.hash).toEqual(sha256('alice-key'));
    expect(alice.caller).toEqual({
      tenant: 't1',
      subject: 'alice',
      scopes: new Set(['execute']),
      bearerToken: null,
    });
    expect(bob.caller.scopes).toEqual(new Set(['read', 'adjust']));
  });

  it('accepts upper-case hex and an empty list', () => {
    const [alice] = parseApiKeyFile(
      keyFile({ ...ALICE, key_sha256: ALICE.key_sha256.toUpperCase() }),
    );
    expect(alice.hash).toEqual(sha256('alice-key'));
    expect(parseApiKeyFile('[]')).toEqual([]);
  });

  it.each([
    ['not JSON', '{oops', /not JSON/],
    ['an object', '{}', /expected array/],
    ['a short hash', keyFile({ ...ALICE, key_sha256: 'abc' }), /at 0\.key_sha256: .*sha256sum/],
    ['an unknown scope', keyFile({ ...ALICE, scopes: ['root'] }), /at 0\.scopes\.0/],
    ['a missing tenant', keyFile({ ...ALICE, tenant: undefined }), /at 0\.tenant/],
    ['an empty name', keyFile({ ...ALICE, name: '' }), /at 0\.name/],
    ['a plaintext key', keyFile({ ...ALICE, key: 'alice-key' }), /Unrecognized key.*"key"/],
    [
      'two equal names',
      keyFile(ALICE, { ...BOB, name: 'alice' }),
      /keys 0 and 1 have the same name/,
    ],
    [
      'two equal hashes',
      keyFile(ALICE, { ...BOB, key_sha256: ALICE.key_sha256 }),
      /same key_sha256/,
    ],
  ])('refuses %s', (_what, text, message) => {
    expect(() => parseApiKeyFile(text)).toThrow(ApiKeyFileError);
    expect(() => parseApiKeyFile(text)).toThrow(message);
  });

  it('never repeats a hash in its messages', () => {
    const text = keyFile(ALICE, { ...BOB, key_sha256: ALICE.key_sha256 });
    expect(() => parseApiKeyFile(text)).not.toThrow(ALICE.key_sha256);
  });
});

describe('sha256', () => {
  it('agrees with the documented one-liner: printf %s "$KEY" | sha256sum', () => {
    const key = 'sk-live-ünïcode+/=';
    const shell = execFileSync('sh', ['-c', 'printf %s "$KEY" | sha256sum'], {
      env: { KEY: key, PATH: process.env.PATH },
      encoding: 'utf8',
    });
    expect(shell.split(' ')[0]).toBe(hex(key));
  });
});

describe('matchApiKey', () => {
  const keys: StoredApiKey[] = parseApiKeyFile(keyFile(ALICE, BOB));

  beforeEach(() => jest.mocked(timingSafeEqual).mockClear());

  it('finds the key whose hash is the presented key’s', () => {
    expect(matchApiKey(keys, 'bob-key')?.caller.subject).toBe('bob');
    expect(matchApiKey(keys, 'alice-key')?.caller.subject).toBe('alice');
  });

  it('finds nothing for an unknown, empty or near key', () => {
    expect(matchApiKey(keys, 'carol-key')).toBeNull();
    expect(matchApiKey(keys, '')).toBeNull();
    expect(matchApiKey(keys, 'alice-key ')).toBeNull();
  });

  it('compares every stored hash in constant time, even after a match', () => {
    const compare = jest.mocked(timingSafeEqual);
    matchApiKey(keys, 'alice-key');
    expect(compare).toHaveBeenCalledTimes(keys.length);
    compare.mock.calls.forEach(([stored, presented]) => {
      expect(stored).toHaveLength(32);
      expect(presented).toEqual(sha256('alice-key'));
    });
  });
});
