import type { PlaygroundAsset, PlaygroundFile } from './playground-assets';

/** The page's files, or null when the bundle was not built (GET /playground then says so). */
export type PlaygroundAssets = ReadonlyMap<PlaygroundFile, PlaygroundAsset> | null;

export const PLAYGROUND_ASSETS = Symbol('PLAYGROUND_ASSETS');
