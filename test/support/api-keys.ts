import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every scope but admin: what the specs' ordinary callers hold. */
export const CALLER_SCOPES = ['execute', 'read', 'adjust'];

/** One entry of an API_KEYS_FILE, as an operator writes it: the key's sha256, never the key. */
export function keyEntry(name: string, key: string, tenant: string, scopes = CALLER_SCOPES) {
  return { name, key_sha256: createHash('sha256').update(key).digest('hex'), tenant, scopes };
}

/** Writes an API_KEYS_FILE of these entries (keyEntry) as keys.json in `directory`; its path. */
export function writeKeysFile(directory: string, entries: readonly ReturnType<typeof keyEntry>[]) {
  const file = join(directory, 'keys.json');
  writeFileSync(file, JSON.stringify(entries));
  return file;
}
