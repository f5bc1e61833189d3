// Runs the @nestjs/swagger CLI plugin under ts-jest, so the tests see the same
// OpenAPI schemas (and class-validator metadata) as `nest build` produces.
const plugin = require('@nestjs/swagger/plugin');

module.exports.name = 'nestjs-swagger-transformer';
module.exports.version = 1;
module.exports.factory = (compiler) =>
  plugin.before({ introspectComments: true, classValidatorShim: true }, compiler.program);
