import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { Caller, SCOPES } from './caller';

/** One key of API_KEYS_FILE: only the sha256 of the key is ever on disk. */
export interface StoredApiKey {
  readonly hash: Buffer;
  readonly caller: Caller;
}

/** What is wrong with a key file, in words an operator can act on. */
export class ApiKeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiKeyFileError';
  }
}

const HASH_HINT = 'make one with: printf %s "$KEY" | sha256sum';

const keyFileSchema = z.array(
  z
    .object({
      name: z.string().min(1),
      key_sha256: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, `must be a sha256 in hex (64 digits); ${HASH_HINT}`),
      tenant: z.string().min(1),
      scopes: z.array(z.enum(SCOPES)),
    })
    // Refuses a typo'd field, and a plaintext `key` above all.
    .strict(),
);

/** Parses and validates the key file's text; throws ApiKeyFileError naming the first problem. */
export function parseApiKeyFile(text: string): StoredApiKey[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error: unknown) {
    throw new ApiKeyFileError(`not JSON (${(error as Error).message})`);
  }
  const checked = keyFileSchema.safeParse(json);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue.path.length > 0 ? `at ${issue.path.join('.')}: ` : '';
    throw new ApiKeyFileError(`${where}${issue.message}`);
  }
  const entries = checked.data;
  ensureUnique(
    entries.map((entry) => entry.name),
    'name',
  );
  ensureUnique(
    entries.map((entry) => entry.key_sha256.toLowerCase()),
    'key_sha256',
  );
  return entries.map((entry) => ({
    hash: Buffer.from(entry.key_sha256, 'hex'),
    caller: {
      tenant: entry.tenant,
      subject: entry.name,
      scopes: new Set(entry.scopes),
      bearerToken: null,
    },
  }));
}

/** Names the entries by position: the values may be hashes, which logs need not show. */
function ensureUnique(values: string[], field: string): void {
  const second = values.findIndex((value, index) => values.indexOf(value) !== index);
  if (second !== -1) {
    const first = values.indexOf(values[second]);
    throw new ApiKeyFileError(`keys ${first} and ${second} have the same ${field}`);
  }
}

export function sha256(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * The stored key whose hash is the presented key's, or null. Every stored hash is
 * compared, each in constant time, so timing tells nothing about which key or how close.
 */
export function matchApiKey(keys: readonly StoredApiKey[], presented: string): StoredApiKey | null {
  const digest = sha256(presented);
  let match: StoredApiKey | null = null;
  for (const key of keys) {
    if (timingSafeEqual(key.hash, digest)) match = key;
  }
  return match;
}
