import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ThrottlerModuleOptions,
  ThrottlerStorage,
  ThrottlerStorageService,
  getOptionsToken,
  getStorageToken,
} from '@nestjs/throttler';
import { ANONYMOUS_CALLER } from '../auth/caller';
import { QuotaOptions } from './quota-options';
import { QuotaModule } from './quota.module';

const OPTIONS: QuotaOptions = {
  rateLimitPerMinute: 3,
  adjustmentRateLimitPerMinute: 0,
  callerOf: () => ANONYMOUS_CALLER,
};

/** Asks for what TenantRateLimitGuard asks for, without importing QuotaModule: it is global. */
@Injectable()
class Consumer {
  constructor(readonly quota: QuotaOptions) {}
}

@Module({ providers: [Consumer] })
class ConsumerModule {}

describe('QuotaModule', () => {
  it('provides the quota and the throttler settings and storage to every module', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [QuotaModule.forRootAsync({ useFactory: () => OPTIONS }), ConsumerModule],
    }).compile();

    expect(moduleRef.get(Consumer).quota).toBe(OPTIONS);
    const throttler = moduleRef.get<ThrottlerModuleOptions>(getOptionsToken());
    expect(Array.isArray(throttler) ? throttler : throttler.throttlers).toHaveLength(2);
    expect(moduleRef.get(getStorageToken())).toBeInstanceOf(ThrottlerStorageService);
    await moduleRef.close();
  });

  it('keeps hit counts in the storage the options give', async () => {
    const storage: ThrottlerStorage = { increment: jest.fn() };
    const moduleRef = await Test.createTestingModule({
      imports: [QuotaModule.forRoot({ ...OPTIONS, storage })],
    }).compile();
    expect(moduleRef.get(getStorageToken())).toBe(storage);
    await moduleRef.close();
  });
});
