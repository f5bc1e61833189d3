import { DynamicModule, InjectionToken, Module } from '@nestjs/common';
import { AxiosBackendClient } from './axios-backend-client';
import { BackendClient } from './backend-client';
import { BackendClientOptions } from './backend-client-options';

export interface BackendClientModuleAsyncOptions {
  readonly imports?: DynamicModule['imports'];
  readonly inject?: InjectionToken[];
  readonly useFactory: (...args: never[]) => BackendClientOptions;
}

/** Provides the BackendClient port, backed by axios. */
@Module({})
export class BackendClientModule {
  static forRootAsync(options: BackendClientModuleAsyncOptions): DynamicModule {
    return {
      module: BackendClientModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: BackendClientOptions,
          useFactory: options.useFactory,
          inject: options.inject ?? [],
        },
        { provide: BackendClient, useClass: AxiosBackendClient },
      ],
      exports: [BackendClient],
    };
  }
}
