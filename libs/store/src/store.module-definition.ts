import { ConfigurableModuleBuilder } from '@nestjs/common';
import { StoreOptions } from './store-options';

export const {
  ConfigurableModuleClass: ConfigurableStoreModule,
  MODULE_OPTIONS_TOKEN: STORE_OPTIONS_TOKEN,
} = new ConfigurableModuleBuilder<StoreOptions>()
  .setClassMethodName('forRoot')
  // One database per process: global unless a caller asks otherwise.
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
