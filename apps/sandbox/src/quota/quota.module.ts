import { DynamicModule, InjectionToken, Module } from '@nestjs/common';
import { getOptionsToken, getStorageToken, ThrottlerStorageService } from '@nestjs/throttler';
import { QuotaOptions } from './quota-options';
import { throttlerOptionsFor } from './tenant-rate-limit.guard';

export interface QuotaModuleAsyncOptions {
  readonly imports?: DynamicModule['imports'];
  readonly inject?: InjectionToken[];
  readonly useFactory: (...args: never[]) => QuotaOptions;
}

/**
 * Provides what TenantRateLimitGuard needs. Global because Nest builds a guard named in
 * @UseGuards inside the module of the controller that names it.
 */
@Module({})
export class QuotaModule {
  static forRootAsync(options: QuotaModuleAsyncOptions): DynamicModule {
    return {
      module: QuotaModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: QuotaOptions, useFactory: options.useFactory, inject: options.inject ?? [] },
        { provide: getOptionsToken(), useFactory: throttlerOptionsFor, inject: [QuotaOptions] },
        {
          provide: getStorageToken(),
          useFactory: (quota: QuotaOptions) => quota.storage ?? new ThrottlerStorageService(),
          inject: [QuotaOptions],
        },
      ],
      exports: [QuotaOptions, getOptionsToken(), getStorageToken()],
    };
  }
}
