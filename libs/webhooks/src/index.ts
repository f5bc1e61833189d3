export * from './destination-policy';
export * from './host-resolver';
export * from './http-webhook-sender';
export * from './webhook-options';
export * from './webhook-sender';
export * from './webhooks.module';
