// `npm run client:generate`: runs scripts/client-types.ts under ts-node with the
// @nestjs/swagger plugin, as `nest build` and the specs compile the app, so the OpenAPI
// document it reads has every DTO's schema.
const plugin = require('@nestjs/swagger/plugin');

require('ts-node').register({
  transformers: (program) => ({
    before: [plugin.before({ introspectComments: true, classValidatorShim: true }, program)],
  }),
});
require('tsconfig-paths/register');
const { CLIENT_TYPES_PATH, writeClientTypes } = require('./client-types.ts');

writeClientTypes().then(
  () => console.log(`wrote ${CLIENT_TYPES_PATH}`),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
