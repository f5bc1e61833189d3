import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

/** One file of the page, held in memory: a few hundred KiB, read and gzipped once at boot. */
export interface PlaygroundAsset {
  readonly body: Buffer;
  readonly contentType: string;
  /** A strong validator from the bytes, so a browser revalidates cheaply (304). */
  readonly etag: string;
  /** The same file gzipped once at boot, with a validator of its own. */
  readonly gzip: { readonly body: Buffer; readonly etag: string };
}

/** The files `npm run build` bundles into dist/playground (scripts/build-playground.mjs). */
export const PLAYGROUND_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'playground.js': 'text/javascript; charset=utf-8',
  'playground.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
} as const;

export type PlaygroundFile = keyof typeof PLAYGROUND_FILES;

/** The page's files, or null when the bundle was not built (GET /playground then says so). */
export type PlaygroundAssets = ReadonlyMap<PlaygroundFile, PlaygroundAsset> | null;

/** The injection token of the page's files, read once at boot by PlaygroundModule. */
export const PLAYGROUND_ASSETS = Symbol('PLAYGROUND_ASSETS');

/**
 * Where the bundle is: dist/playground of the checkout. The compiled service runs from
 * dist/apps/sandbox/src/playground, the sources (specs, ts-node) from
 * apps/sandbox/src/playground: four levels up is dist/ in one case, the checkout in the other.
 */
export function playgroundBundleDir(): string | null {
  const up = resolve(__dirname, '..', '..', '..', '..');
  const candidates = [join(up, 'playground'), join(up, 'dist', 'playground')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? null;
}

function validatorOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}

/** The page's files from `dir`, or null when one is missing (the bundle was not built). */
export function loadPlaygroundAssets(dir: string | null): PlaygroundAssets {
  if (dir === null) return null;
  const assets = new Map<PlaygroundFile, PlaygroundAsset>();
  for (const [name, contentType] of Object.entries(PLAYGROUND_FILES) as [
    PlaygroundFile,
    string,
  ][]) {
    const path = join(dir, name);
    if (!existsSync(path)) return null;
    const body = readFileSync(path);
    const gzipped = gzipSync(body, { level: 9 });
    assets.set(name, {
      body,
      contentType,
      etag: validatorOf(body),
      gzip: { body: gzipped, etag: validatorOf(gzipped) },
    });
  }
  return assets;
}
