export * from './adjustment-store';
export * from './execution-record';
export * from './execution-store';
export * from './sqlite-adjustment-store';
export * from './sqlite-database';
export * from './sqlite-execution-store';
export * from './store-options';
export * from './store.module';
