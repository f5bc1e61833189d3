// Helpers for specs of every lib, the app and test/: nothing here is part of the service.
export * from './free-loopback-port';
export * from './redis-server';
