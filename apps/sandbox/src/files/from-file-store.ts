import { orUnavailable } from '../errors/unavailable';

/** A file store that fails is a 503 for the caller, never a crash. */
export function fromFileStore<T>(access: () => Promise<T>): Promise<T> {
  return orUnavailable('STORE_UNAVAILABLE', 'file', access);
}
