import { Injectable, UseGuards, applyDecorators } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  SkipThrottle,
  ThrottlerGuard,
  ThrottlerModuleOptions,
  ThrottlerRequest,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { DomainError } from '../errors/domain-error';
import { QuotaOptions } from './quota-options';

const SUBMITS_THROTTLER = 'tenant-submits';
const ADJUSTMENTS_THROTTLER = 'tenant-adjustments';

/** What a route's requests count towards: one limit each, counted apart. */
export type RateLimited = 'submits' | 'adjustments';
const THROTTLER_OF: Record<RateLimited, string> = {
  submits: SUBMITS_THROTTLER,
  adjustments: ADJUSTMENTS_THROTTLER,
};
/** How a refusal names what was limited, by throttler. */
const LIMITED_WORK: Record<string, string> = {
  [SUBMITS_THROTTLER]: 'submit executions',
  [ADJUSTMENTS_THROTTLER]: 'send adjustments',
};
const MINUTE_MS = 60_000;

/**
 * The throttler settings behind TenantRateLimitGuard: a sliding minute (no block
 * duration), so a refused caller may go on as soon as its oldest counted submit expires.
 */
export function throttlerOptionsFor(quota: QuotaOptions): ThrottlerModuleOptions {
  return {
    throttlers: [
      {
        name: SUBMITS_THROTTLER,
        ttl: MINUTE_MS,
        limit: quota.rateLimitPerMinute,
        blockDuration: 0,
        skipIf: () => quota.rateLimitPerMinute === 0,
      },
      {
        name: ADJUSTMENTS_THROTTLER,
        ttl: MINUTE_MS,
        limit: quota.adjustmentRateLimitPerMinute,
        blockDuration: 0,
        skipIf: () => quota.adjustmentRateLimitPerMinute === 0,
      },
    ],
  };
}

/**
 * Limits requests per tenant, not per address: many tenants may share a proxy and one
 * tenant may call from many hosts. Answers with the IETF draft's RateLimit-Limit,
 * RateLimit-Remaining and RateLimit-Reset headers (throttler's own are X-RateLimit-*),
 * on refusals too, and refuses with a RATE_LIMITED problem and Retry-After.
 */
@Injectable()
export class TenantRateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly quota: QuotaOptions,
  ) {
    super(options, storage, reflector);
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, blockDuration, generateKey } = props;
    const name = props.throttler.name ?? SUBMITS_THROTTLER;
    const http = context.switchToHttp();
    const tenant = this.quota.callerOf(http.getRequest<Request>()).tenant;
    const hits = await this.storageService.increment(
      generateKey(context, tenant, name),
      ttl,
      limit,
      blockDuration,
      name,
    );
    const response = http.getResponse<Response>();
    response.setHeader('RateLimit-Limit', String(limit));
    response.setHeader('RateLimit-Remaining', String(Math.max(0, limit - hits.totalHits)));
    response.setHeader(
      'RateLimit-Reset',
      String(hits.isBlocked ? hits.timeToBlockExpire : hits.timeToExpire),
    );
    if (hits.isBlocked) {
      throw new DomainError(
        'RATE_LIMITED',
        `Tenant ${tenant} may ${LIMITED_WORK[name]} ${limit} times a minute; try again in ${hits.timeToBlockExpire} s.`,
        { retryAfterS: hits.timeToBlockExpire },
      );
    }
    return true;
  }
}

/**
 * Limits a route per tenant: submits to RATE_LIMIT_PER_MINUTE, adjustments to
 * ADJUSTMENT_RATE_LIMIT_PER_MINUTE. The guard runs every throttler: the route skips the others.
 */
export function TenantRateLimit(what: RateLimited = 'submits'): MethodDecorator & ClassDecorator {
  const others = Object.values(THROTTLER_OF).filter((name) => name !== THROTTLER_OF[what]);
  return applyDecorators(
    UseGuards(TenantRateLimitGuard),
    SkipThrottle(Object.fromEntries(others.map((name) => [name, true]))),
  );
}
