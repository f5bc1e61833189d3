import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Request } from 'express';
import type { Caller } from '../auth/caller';

/** The caller the auth guard resolved for a request; that guard runs before any quota. */
export type CallerOf = (request: Request) => Caller;

/** Per-tenant quotas on submitting executions. Injection token and shape. */
export abstract class QuotaOptions {
  /** Submits per tenant per minute; 0 turns the limit off. */
  abstract readonly rateLimitPerMinute: number;
  /** Adjustments (POST /adjust-processor) per tenant per minute; 0 turns the limit off. */
  abstract readonly adjustmentRateLimitPerMinute: number;
  abstract readonly callerOf: CallerOf;
  /** Where hit counts live; in this process's memory when absent (one instance only). */
  abstract readonly storage?: ThrottlerStorage;
}
