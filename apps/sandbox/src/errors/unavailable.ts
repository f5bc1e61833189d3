import { DomainError } from './domain-error';
import { errorMessage } from './error-message';

/** What a failing dependency is called in the 503's message. */
const WHAT: Record<Unavailable, string> = {
  STORE_UNAVAILABLE: 'store',
  QUEUE_UNAVAILABLE: 'queue',
};

type Unavailable = 'STORE_UNAVAILABLE' | 'QUEUE_UNAVAILABLE';

/**
 * Calls a dependency (a store, the queue); its failure is a 503 with this code and a
 * Retry-After for the caller, never a crash. Domain errors pass through as they are.
 */
export async function orUnavailable<T>(
  code: Unavailable,
  owner: string,
  access: () => Promise<T>,
): Promise<T> {
  try {
    return await access();
  } catch (error: unknown) {
    if (error instanceof DomainError) throw error;
    throw new DomainError(code, `The ${owner} ${WHAT[code]} failed: ${errorMessage(error)}`, {
      retryAfterS: 5,
    });
  }
}
