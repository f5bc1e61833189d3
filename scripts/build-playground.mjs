// Bundles the playground page (apps/playground) into dist/playground: its script with
// CodeMirror and the TypeScript client, its HTML and styles. The service serves these files
// at GET /playground; nothing is fetched from elsewhere, so the page works offline.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'apps', 'playground');
const out = join(root, 'dist', 'playground');

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(source, 'src', 'main.ts')],
  outfile: join(out, 'playground.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
for (const file of ['index.html', 'playground.css', 'favicon.svg']) {
  copyFileSync(join(source, file), join(out, file));
}
