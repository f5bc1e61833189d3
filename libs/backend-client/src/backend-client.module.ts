import { Module } from '@nestjs/common';
import { AxiosBackendClient } from './axios-backend-client';
import { BackendClient } from './backend-client';
import { BackendClientOptions } from './backend-client-options';
import {
  BACKEND_CLIENT_OPTIONS_TOKEN,
  ConfigurableBackendClientModule,
} from './backend-client.module-definition';

/**
 * Provides the BackendClient port, backed by axios: `BackendClientModule.forRoot(options)`
 * or `BackendClientModule.forRootAsync({ inject, useFactory })`.
 */
@Module({
  providers: [
    // The axios client asks for its options by class, as every other options class is asked for.
    { provide: BackendClientOptions, useExisting: BACKEND_CLIENT_OPTIONS_TOKEN },
    { provide: BackendClient, useClass: AxiosBackendClient },
  ],
  exports: [BackendClient],
})
export class BackendClientModule extends ConfigurableBackendClientModule {}
