export * from './container-limits';
export * from './docker-runner';
export * from './dockerode-runner';
export * from './harness/harness-protocol';
export * from './runner-options';
export * from './runner.module';
export * from './warm-pool';
export * from './job-payload';
