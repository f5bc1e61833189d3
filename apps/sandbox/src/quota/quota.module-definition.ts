import { ConfigurableModuleBuilder } from '@nestjs/common';
import { QuotaOptions } from './quota-options';

export const {
  ConfigurableModuleClass: ConfigurableQuotaModule,
  MODULE_OPTIONS_TOKEN: QUOTA_OPTIONS_TOKEN,
} = new ConfigurableModuleBuilder<QuotaOptions>()
  .setClassMethodName('forRoot')
  // Global by default: see QuotaModule for why its guard needs that.
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
