import { Injectable } from '@nestjs/common';
import {
  BackendClient,
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
 * Processors' code, as the backend defines it. Successful fetches are reused for
 * PROCESSOR_CACHE_TTL_S; "not found" and failures are not, so a fix on the backend shows at once.
 */
@Injectable()
export class ProcessorDefinitionService {
  private readonly cache = new Map<string, CachedCode>();

  constructor(
    private readonly backend: BackendClient,
    private readonly config: AppConfig,
  ) {}

  /** Throws PROCESSOR_NOT_FOUND or BACKEND_UNAVAILABLE as domain errors. */
  async getCode(processorId: string): Promise<string> {
    const cached = this.cache.get(processorId);
    if (cached && cached.expiresAt > Date.now()) return cached.code;
    this.cache.delete(processorId);

    const code = await this.fetchCode(processorId);
    const ttlMs = this.config.processorCacheTtlMs;
    if (ttlMs > 0) this.cache.set(processorId, { code, expiresAt: Date.now() + ttlMs });
    return code;
  }

  private async fetchCode(processorId: string): Promise<string> {
    let definition: ProcessorDefinition | null;
    try {
      definition = await this.backend.fetchProcessor(processorId);
    } catch (error: unknown) {
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
