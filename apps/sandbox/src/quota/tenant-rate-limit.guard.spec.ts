import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Request } from 'express';
import request from 'supertest';
import { ANONYMOUS_CALLER, Caller } from '../auth/caller';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { QuotaModule } from './quota.module';
import { TenantRateLimit } from './tenant-rate-limit.guard';

@Controller()
class SubmitController {
  @Post('execute')
  @HttpCode(202)
  @TenantRateLimit()
  submit(): string {
    return 'accepted';
  }

  @Post('adjust-processor')
  @HttpCode(202)
  @TenantRateLimit('adjustments')
  adjust(): string {
    return 'accepted';
  }

  @Get('other')
  other(): string {
    return 'ok';
  }
}

/** Stands in for the auth guard: the tenant comes from a header. */
const callerOf = (req: Request): Caller => ({
  ...ANONYMOUS_CALLER,
  tenant: req.header('x-tenant') ?? ANONYMOUS_CALLER.tenant,
});

async function appWith(
  rateLimitPerMinute: number,
  storage?: ThrottlerStorage,
  adjustmentRateLimitPerMinute = 0,
) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      QuotaModule.forRootAsync({
        useFactory: () => ({ rateLimitPerMinute, adjustmentRateLimitPerMinute, callerOf, storage }),
      }),
    ],
    controllers: [SubmitController],
    providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
  await app.init();
  return app;
}

describe('TenantRateLimitGuard', () => {
  let app: NestExpressApplication;
  afterEach(() => app.close());

  it('answers 429 RATE_LIMITED with Retry-After and RateLimit-* once a tenant used its minute', async () => {
    app = await appWith(3);
    const http = request(app.getHttpServer());
    for (const remaining of [2, 1, 0]) {
      const accepted = await http.post('/execute').expect(202);
      expect(accepted.headers['ratelimit-limit']).toBe('3');
      expect(accepted.headers['ratelimit-remaining']).toBe(String(remaining));
      expect(Number(accepted.headers['ratelimit-reset'])).toBeGreaterThan(0);
      expect(accepted.headers['x-ratelimit-limit']).toBeUndefined();
    }

    const refused = await http.post('/execute').expect(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers['ratelimit-limit']).toBe('3');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['ratelimit-reset']).toBe(String(retryAfter));
  });

  it('counts each tenant apart and leaves other routes alone', async () => {
    app = await appWith(1);
    const http = request(app.getHttpServer());
    await http.post('/execute').set('x-tenant', 'a').expect(202);
    await http.post('/execute').set('x-tenant', 'a').expect(429);
    await http.post('/execute').set('x-tenant', 'b').expect(202);
    const other = await http.get('/other').expect(200);
    expect(other.headers['ratelimit-limit']).toBeUndefined();
  });

  it('limits adjustments per tenant apart from submits, with their own limit and headers', async () => {
    app = await appWith(1, undefined, 2);
    const http = request(app.getHttpServer());
    for (const remaining of [1, 0]) {
      const accepted = await http.post('/adjust-processor').set('x-tenant', 'a').expect(202);
      expect(accepted.headers['ratelimit-limit']).toBe('2');
      expect(accepted.headers['ratelimit-remaining']).toBe(String(remaining));
    }
    const refused = await http.post('/adjust-processor').set('x-tenant', 'a').expect(429);
    expect(refused.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect((refused.body as { detail: string }).detail).toContain('send adjustments 2 times');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    // Submits count apart, and another tenant's adjustments too.
    const submit = await http.post('/execute').set('x-tenant', 'a').expect(202);
    expect(submit.headers['ratelimit-limit']).toBe('1');
    await http.post('/adjust-processor').set('x-tenant', 'b').expect(202);
  });

  it('limits no adjustments at 0, whatever the submits limit', async () => {
    app = await appWith(1, undefined, 0);
    const http = request(app.getHttpServer());
    for (let i = 0; i < 3; i += 1) {
      const accepted = await http.post('/adjust-processor').expect(202);
      expect(accepted.headers['ratelimit-limit']).toBeUndefined();
    }
  });

  it('limits nothing at 0', async () => {
    app = await appWith(0);
    const http = request(app.getHttpServer());
    for (let i = 0; i < 5; i += 1) {
      const accepted = await http.post('/execute').expect(202);
      expect(accepted.headers['ratelimit-limit']).toBeUndefined();
    }
  });

  it('keeps its counts in the storage it is given', async () => {
    const storage: ThrottlerStorage = {
      increment: jest.fn(() =>
        Promise.resolve({ totalHits: 8, timeToExpire: 12, isBlocked: true, timeToBlockExpire: 7 }),
      ),
    };
    app = await appWith(5, storage);
    const refused = await request(app.getHttpServer()).post('/execute').expect(429);
    expect(refused.headers['retry-after']).toBe('7');
    expect(storage.increment).toHaveBeenCalledWith(
      expect.any(String),
      60_000,
      5,
      0,
      'tenant-submits',
    );
  });
});
