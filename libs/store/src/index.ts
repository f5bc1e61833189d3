export * from './adjustment-store';
export * from './sqlite-adjustment-store';
export * from './store-options';
export * from './store.module';
