export * from './axios-backend-client';
export * from './backend-client';
export * from './backend-client-options';
export * from './backend-client.module';
