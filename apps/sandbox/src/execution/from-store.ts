import { orUnavailable } from '../errors/unavailable';

/** A store read or write that failed is a 503 for the caller, never a crash. */
export function fromStore<T>(access: () => Promise<T>): Promise<T> {
  return orUnavailable('STORE_UNAVAILABLE', 'execution', access);
}

/** A queue that cannot answer (Redis away) is a 503 for the caller, never a crash. */
export function fromQueue<T>(access: () => Promise<T>): Promise<T> {
  return orUnavailable('QUEUE_UNAVAILABLE', 'execution', access);
}
