// Three tiers. Unit specs (*.spec.ts, next to the code) need nothing but Node: no Redis,
// no Python, no engine, no large files. Integration specs (*.int.spec.ts, next to the
// code) start redis-server or Python, or write large files. End-to-end specs (test/) drive
// the real app against a real Docker engine. `npm test` runs all three, in band.
const swaggerPlugin = '<rootDir>/test/support/swagger-plugin.transformer.js';
const transform = {
  '^.+\\.ts$': [
    'ts-jest',
    { astTransformers: { before: [swaggerPlugin] }, diagnostics: { warnOnly: false } },
  ],
};
const moduleNameMapper = {
  '^@brain-net/runner(|/.*)$': '<rootDir>/libs/runner/src$1',
  '^@brain-net/backend-client(|/.*)$': '<rootDir>/libs/backend-client/src$1',
  '^@brain-net/store(|/.*)$': '<rootDir>/libs/store/src$1',
  '^@brain-net/messaging(|/.*)$': '<rootDir>/libs/messaging/src$1',
  '^@brain-net/testing(|/.*)$': '<rootDir>/libs/testing/src$1',
  '^@brain-net/webhooks(|/.*)$': '<rootDir>/libs/webhooks/src$1',
};

module.exports = {
  // Generous: end-to-end specs start real containers, some of which run to a timeout.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: [
        '<rootDir>/apps/**/*.spec.ts',
        '<rootDir>/libs/**/*.spec.ts',
        '<rootDir>/deploy/**/*.spec.ts',
        '<rootDir>/test/http/**/*.http-spec.ts',
      ],
      testPathIgnorePatterns: ['/node_modules/', '\\.int\\.spec\\.ts$'],
      testEnvironment: 'node',
      // startRedisServer() refuses to run here: a spec that needs Redis is an integration spec.
      setupFiles: ['reflect-metadata', '<rootDir>/libs/testing/src/unit-tier.setup.js'],
      transform,
      moduleNameMapper,
    },
    {
      displayName: 'int',
      rootDir: __dirname,
      testMatch: ['<rootDir>/apps/**/*.int.spec.ts', '<rootDir>/libs/**/*.int.spec.ts'],
      testEnvironment: 'node',
      setupFiles: ['reflect-metadata'],
      transform,
      moduleNameMapper,
    },
    {
      displayName: 'e2e',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      testEnvironment: 'node',
      setupFiles: ['reflect-metadata'],
      transform,
      moduleNameMapper,
    },
  ],
};
