import { DomainError } from '../errors/domain-error';
import { errorMessage } from '../errors/error-message';

/** A store read or write that failed is a 503 for the caller, never a crash. */
export async function fromStore<T>(access: () => Promise<T>): Promise<T> {
  try {
    return await access();
  } catch (error: unknown) {
    if (error instanceof DomainError) throw error;
    throw new DomainError(
      'STORE_UNAVAILABLE',
      `The execution store failed: ${errorMessage(error)}`,
      { retryAfterS: 5 },
    );
  }
}
