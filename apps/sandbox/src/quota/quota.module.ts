import { Module } from '@nestjs/common';
import { getOptionsToken, getStorageToken, ThrottlerStorageService } from '@nestjs/throttler';
import { QuotaOptions } from './quota-options';
import { ConfigurableQuotaModule, QUOTA_OPTIONS_TOKEN } from './quota.module-definition';
import { throttlerOptionsFor } from './tenant-rate-limit.guard';

/**
 * Provides what TenantRateLimitGuard needs:
 * `QuotaModule.forRoot(options)` or `QuotaModule.forRootAsync({ inject, useFactory })`.
 * Global because Nest builds a guard named in @UseGuards inside the module of the
 * controller that names it.
 */
@Module({
  providers: [
    // The guard asks for QuotaOptions by class, as every other options class is asked for.
    { provide: QuotaOptions, useExisting: QUOTA_OPTIONS_TOKEN },
    { provide: getOptionsToken(), useFactory: throttlerOptionsFor, inject: [QuotaOptions] },
    {
      provide: getStorageToken(),
      useFactory: (quota: QuotaOptions) => quota.storage ?? new ThrottlerStorageService(),
      inject: [QuotaOptions],
    },
  ],
  exports: [QuotaOptions, getOptionsToken(), getStorageToken()],
})
export class QuotaModule extends ConfigurableQuotaModule {}
