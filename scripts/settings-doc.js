// `npm run docs:config`: writes the settings reference of docs/configuration.md (between
// its two markers) from apps/sandbox/src/config/environment-variables.ts.
// `npm run docs:config:check` (--check): writes nothing, and fails naming each setting
// whose row differs from what would be generated.
// Plain Node, loading the TypeScript through ts-node: a .ts file here would be outside
// tsconfig.json, which ESLint's type-aware rules need.
'use strict';
require('ts-node').register({ transpileOnly: true });
// class-transformer's decorators on EnvironmentVariables read design types through it.
require('reflect-metadata');
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const prettier = require('prettier');
const {
  settingsDrift,
  settingsReference,
  settingsTable,
  withGeneratedSettings,
} = require('../apps/sandbox/src/config/settings-reference');

const root = join(__dirname, '..');
const documentFile = join(root, 'docs', 'configuration.md');
const sourceFile = join(root, 'apps', 'sandbox', 'src', 'config', 'environment-variables.ts');

async function main() {
  const check = process.argv.includes('--check');
  const onDisk = readFileSync(documentFile, 'utf8');
  const table = settingsTable(settingsReference(readFileSync(sourceFile, 'utf8')));
  // Formatted as `prettier --check .` wants it, so that the two checks agree.
  const generated = await prettier.format(withGeneratedSettings(onDisk, table), {
    ...(await prettier.resolveConfig(documentFile)),
    filepath: documentFile,
  });
  if (!check) {
    writeFileSync(documentFile, generated);
    console.log(`docs/configuration.md: ${onDisk === generated ? 'unchanged' : 'updated'}`);
    return;
  }
  const drift = settingsDrift(onDisk, generated);
  if (drift.length === 0) {
    console.log('docs/configuration.md matches environment-variables.ts');
    return;
  }
  console.error('docs/configuration.md differs from environment-variables.ts:');
  for (const line of drift) console.error(`  ${line}`);
  console.error('Run npm run docs:config to regenerate it.');
  process.exitCode = 1;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
