#!/usr/bin/env node
// The TypeScript client's command line, compiled on the fly: `nest build` compiles only
// the service, and type checking is left to `npm run typecheck`.
const { join } = require('node:path');

require('ts-node').register({
  transpileOnly: true,
  project: join(__dirname, '..', 'tsconfig.json'),
});
require('../clients/typescript/src/cli.ts');
