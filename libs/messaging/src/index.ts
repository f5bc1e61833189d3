export * from './execution-feed';
export * from './execution-queue';
export * from './bullmq-execution-queue';
export * from './local-execution-feed';
export * from './redis-connection';
export * from './redis-execution-feed';
export * from './bullmq-adjustment-queue';
export * from './bullmq-callback-queue';
