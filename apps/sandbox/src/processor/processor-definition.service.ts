import { Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import {
  BackendClient,
  BackendRefusedError,
  BackendUnavailableError,
  ProcessorDefinition,
} from '@brain-net/backend-client';
import { Caller } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';

/** Definitions cached at most: the least recently used go first, however many ids tenants send. */
export const PROCESSOR_CACHE_MAX_ENTRIES = 1000;

/** What a caller is told when the backend fails: the details are for the log only. */
export const BACKEND_UNAVAILABLE_MESSAGE =
  'The backend could not be reached or gave no usable answer; try again later.';

/**
 * Processors' code, as the backend defines it. Every fetch names the caller's tenant and
 * subject. Fetches made with the service's own token are reused for PROCESSOR_CACHE_TTL_S
 * within the caller's tenant only (the backend may hold other code, or none, for another
 * tenant); "not found" and failures are not, so a fix on the backend shows at once. A
 * fetch with the caller's own bearer token is never reused: the backend decides, each
 * time, whether this caller may run this processor.
 */
@Injectable()
export class ProcessorDefinitionService {
  private readonly logger = new Logger(ProcessorDefinitionService.name);
  /** Null when PROCESSOR_CACHE_TTL_S is 0: lru-cache takes a ttl of 0 as "forever". */
  private readonly cache: LRUCache<string, string> | null;

  constructor(
    private readonly backend: BackendClient,
    private readonly config: AppConfig,
  ) {
    this.cache =
      config.processorCacheTtlMs > 0
        ? new LRUCache({ max: PROCESSOR_CACHE_MAX_ENTRIES, ttl: config.processorCacheTtlMs })
        : null;
  }

  /** Throws PROCESSOR_NOT_FOUND, FORBIDDEN or BACKEND_UNAVAILABLE as domain errors. */
  async getCode(processorId: string, caller: Caller): Promise<string> {
    if (caller.bearerToken !== null) return this.fetchCode(processorId, caller);
    if (!this.config.processorFetchWithServiceToken) {
      throw new DomainError(
        'FORBIDDEN',
        `Processor ${processorId} is not fetched for this caller: this service runs processors ` +
          'only for callers with a bearer token of their own (a JWT) the backend can check. ' +
          'Send the code instead.',
      );
    }
    const key = JSON.stringify([caller.tenant, processorId]);
    const cached = this.cache?.get(key);
    if (cached !== undefined) return cached;

    const code = await this.fetchCode(processorId, caller);
    this.cache?.set(key, code);
    return code;
  }

  private async fetchCode(processorId: string, caller: Caller): Promise<string> {
    let definition: ProcessorDefinition | null;
    try {
      definition = await this.backend.fetchProcessor(processorId, caller);
    } catch (error: unknown) {
      if (error instanceof BackendRefusedError) {
        throw new DomainError(
          'FORBIDDEN',
          `The backend does not let this caller run processor ${processorId} (it answered ${error.status}).`,
        );
      }
      if (!(error instanceof BackendUnavailableError)) throw error;
      this.logger.warn(
        `processor ${processorId} for tenant ${caller.tenant}: the backend at ` +
          `${this.config.backend.url} gave no usable answer: ${error.message}`,
      );
      throw new DomainError('BACKEND_UNAVAILABLE', BACKEND_UNAVAILABLE_MESSAGE);
    }
    if (definition === null) {
      throw new DomainError('PROCESSOR_NOT_FOUND', `No processor ${processorId} on the backend.`);
    }
    return definition.code;
  }
}
