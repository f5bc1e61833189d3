import { ConfigurableModuleBuilder } from '@nestjs/common';
import { BackendClientOptions } from './backend-client-options';

export const {
  ConfigurableModuleClass: ConfigurableBackendClientModule,
  MODULE_OPTIONS_TOKEN: BACKEND_CLIENT_OPTIONS_TOKEN,
} = new ConfigurableModuleBuilder<BackendClientOptions>()
  .setClassMethodName('forRoot')
  // One main backend per process: global unless a caller asks otherwise.
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
