/**
 * The TypeScript client's generated types (clients/typescript/src/generated/api.ts), made
 * from the OpenAPI document the service itself serves at /docs-json. `npm run
 * client:generate` writes them; test/http/client-types.http-spec.ts fails when the
 * checked-in file differs from what this makes.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startScriptedSandboxApp } from '../test/support/sandbox-app';

export const CLIENT_TYPES_PATH = resolve(
  __dirname,
  '..',
  'clients',
  'typescript',
  'src',
  'generated',
  'api.ts',
);

/** The document as the service serves it; the scripted runner needs no engine. */
async function liveDocument(): Promise<string> {
  // The default settings, whatever the caller's environment holds: the app reads only these.
  const sandbox = await startScriptedSandboxApp();
  try {
    const answer = await fetch(`${sandbox.url}/docs-json`);
    if (!answer.ok) throw new Error(`GET /docs-json answered ${answer.status}`);
    return await answer.text();
  } finally {
    await sandbox.close();
  }
}

/** The generated file's text, formatted as `prettier --check .` expects it. */
export async function generateClientTypes(): Promise<string> {
  const document = await liveDocument();
  return execFileSync(
    process.execPath,
    [resolve(__dirname, 'client-types-from-document.mjs'), CLIENT_TYPES_PATH],
    { input: document, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] },
  );
}

/** Writes the generated file in place (`npm run client:generate`). */
export async function writeClientTypes(): Promise<void> {
  writeFileSync(CLIENT_TYPES_PATH, await generateClientTypes());
}
