import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { Logger } from '@nestjs/common';
import { InvalidConfigError } from '../config/app-config';
import { StoredApiKey, matchApiKey, parseApiKeyFile } from './api-key-file';
import { unauthenticated } from './auth-errors';
import { Authenticator } from './authenticator';
import type { Caller } from './caller';
import { credentialOf } from './credentials';

export interface ApiKeyReloadOptions {
  /** Least time between two looks at the file (one stat), however many requests come. */
  readonly checkEveryMs: number;
  readonly now: () => number;
}

const DEFAULT_RELOAD: ApiKeyReloadOptions = { checkEveryMs: 1000, now: () => Date.now() };

/**
 * AUTH_MODE=api-key: keys from API_KEYS_FILE (hashes only), presented as
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`. The file is looked at again at
 * most once per checkEveryMs, on a request, and re-read when it changed; a broken
 * version is logged once and the last good keys stay in use.
 */
export class ApiKeyAuthenticator extends Authenticator {
  private readonly logger = new Logger('ApiKeys');
  private checkedAt: number;

  private constructor(
    private readonly path: string,
    private keys: readonly StoredApiKey[],
    /** The file version the keys came from, or the last one that failed. */
    private version: string,
    private readonly reload: ApiKeyReloadOptions,
  ) {
    super();
    this.checkedAt = reload.now();
  }

  /** Reads the file at boot: a missing or broken file stops the service, naming it. */
  static async open(path: string, reload = DEFAULT_RELOAD): Promise<ApiKeyAuthenticator> {
    let authenticator: ApiKeyAuthenticator;
    try {
      const version = await versionOf(path);
      authenticator = new ApiKeyAuthenticator(path, await readKeys(path), version, reload);
    } catch (error: unknown) {
      throw new InvalidConfigError([`API_KEYS_FILE=${JSON.stringify(path)}: ${messageOf(error)}`]);
    }
    authenticator.logKeyCount();
    return authenticator;
  }

  async authenticate(headers: IncomingHttpHeaders): Promise<Caller> {
    const credential = credentialOf(headers);
    if (!credential) {
      throw unauthenticated(
        'Send an API key: "Authorization: Bearer <key>" or "X-API-Key: <key>".',
      );
    }
    await this.reloadIfChanged();
    const key = matchApiKey(this.keys, credential.value);
    if (!key) throw unauthenticated('The API key is not valid.', 'invalid_token');
    return key.caller;
  }

  private logKeyCount(): void {
    if (this.keys.length > 0)
      this.logger.log(`API_KEYS_FILE ${this.path}: ${this.keys.length} keys`);
    else
      this.logger.warn(
        `API_KEYS_FILE ${this.path} holds no key: every route that needs one answers 401`,
      );
  }

  private async reloadIfChanged(): Promise<void> {
    const now = this.reload.now();
    if (now - this.checkedAt < this.reload.checkEveryMs) return;
    this.checkedAt = now;
    // An unreadable file counts as a version too, so its error is logged once, not per request.
    const version = await versionOf(this.path).catch((error: unknown) => messageOf(error));
    if (version === this.version) return;
    this.version = version;
    try {
      this.keys = await readKeys(this.path);
      this.logKeyCount();
    } catch (error: unknown) {
      this.logger.error(
        `API_KEYS_FILE ${this.path} changed but cannot be used (${messageOf(error)}); ` +
          'the previous keys stay in use',
      );
    }
  }
}

async function versionOf(path: string): Promise<string> {
  const stats: Stats = await stat(path);
  // The inode too: an editor or a deploy may swap in a new file by renaming it.
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

async function readKeys(path: string): Promise<StoredApiKey[]> {
  return parseApiKeyFile(await readFile(path, 'utf8'));
}

/** By shape, not instanceof: node's own errors may come from another realm (as under jest). */
function messageOf(error: unknown): string {
  const message =
    typeof error === 'object' && error !== null && 'message' in error && error.message;
  return typeof message === 'string' ? message : String(error);
}
