import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

/** A Lua script as ioredis's defineCommand takes it. */
export interface LuaCommand {
  /** How many of a call's arguments are KEYS; absent when that varies: each call passes it first. */
  readonly numberOfKeys?: number;
  readonly lua: string;
}

/**
 * The Lua of `files` in `dir`, joined in order (functions shared by several scripts
 * first). `dir` is the caller's __dirname: the build copies the `.lua` files beside the
 * compiled code (nest-cli.json's assets). Meant to run as the caller's module loads, so
 * that a file missing from a build fails the start, not a request.
 */
export function readLua(dir: string, ...files: string[]): string {
  return files.map((file) => readFileSync(join(dir, file), 'utf8')).join('\n');
}

/** Per client, the Lua of each command defineLuaCommands defined on it. */
const definedLua = new WeakMap<Redis, Map<string, string>>();

/**
 * Defines each of `commands` on `redis` as a method of its name, once per client however
 * many adapters share it; ioredis then runs it by EVALSHA, and sends the whole script when
 * the server answers NOSCRIPT. Returns the client typed with those methods: `Commands`
 * declares them (a command with no numberOfKeys takes the KEYS count first).
 */
export function defineLuaCommands<Commands extends object>(
  redis: Redis,
  commands: { readonly [Name in keyof Commands]: LuaCommand },
): Redis & Commands {
  let defined = definedLua.get(redis);
  if (!defined) {
    defined = new Map();
    definedLua.set(redis, defined);
  }
  for (const [name, command] of Object.entries<LuaCommand>(commands)) {
    const lua = defined.get(name);
    if (lua === command.lua) continue;
    // Names are per module (brainNet<Module><Script>); two scripts under one would clash.
    if (lua !== undefined) throw new Error(`Another Lua command is named ${name} on this client`);
    redis.defineCommand(name, command);
    defined.set(name, command.lua);
  }
  // defineCommand adds the methods at run time; this is their type.
  return redis as Redis & Commands;
}
