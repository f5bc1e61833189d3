import { Injectable } from '@nestjs/common';
import {
  BackendClient,
  BackendRefusedError,
  BackendUnavailableError,
  ProcessorDefinition,
} from '@brain-net/backend-client';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';

interface CachedCode {
  readonly code: string;
  readonly expiresAt: number;
}

/**
 * Processors' code, as the backend defines it. Fetches made with the service's own token
 * are reused for PROCESSOR_CACHE_TTL_S; "not found" and failures are not, so a fix on the
 * backend shows at once. A fetch on a caller's behalf (its bearer token) is never reused:
 * the backend decides, each time, whether this caller may run this processor.
 */
@Injectable()
export class ProcessorDefinitionService {
  private readonly cache = new Map<string, CachedCode>();

  constructor(
    private readonly backend: BackendClient,
    private readonly config: AppConfig,
  ) {}

  /** Throws PROCESSOR_NOT_FOUND, FORBIDDEN or BACKEND_UNAVAILABLE as domain errors. */
  async getCode(processorId: string, bearerToken: string | null): Promise<string> {
    if (bearerToken !== null) return this.fetchCode(processorId, bearerToken);
    const cached = this.cache.get(processorId);
    if (cached && cached.expiresAt > Date.now()) return cached.code;
    this.cache.delete(processorId);

    const code = await this.fetchCode(processorId, null);
    const ttlMs = this.config.processorCacheTtlMs;
    if (ttlMs > 0) this.cache.set(processorId, { code, expiresAt: Date.now() + ttlMs });
    return code;
  }

  private async fetchCode(processorId: string, bearerToken: string | null): Promise<string> {
    let definition: ProcessorDefinition | null;
    try {
      definition = await this.backend.fetchProcessor(processorId, bearerToken);
    } catch (error: unknown) {
      if (error instanceof BackendRefusedError) {
        throw new DomainError(
          'FORBIDDEN',
          `The backend does not let this caller run processor ${processorId} (it answered ${error.status}).`,
        );
      }
      if (!(error instanceof BackendUnavailableError)) throw error;
      throw new DomainError(
        'BACKEND_UNAVAILABLE',
        `The backend at ${this.config.backend.url} could not be reached: ${error.message}`,
      );
    }
    if (definition === null) {
      throw new DomainError('PROCESSOR_NOT_FOUND', `No processor ${processorId} on the backend.`);
    }
    return definition.code;
  }
}
