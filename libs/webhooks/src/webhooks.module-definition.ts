import { ConfigurableModuleBuilder } from '@nestjs/common';
import { WebhookOptions } from './webhook-options';

export const {
  ConfigurableModuleClass: ConfigurableWebhooksModule,
  MODULE_OPTIONS_TOKEN: WEBHOOK_OPTIONS_TOKEN,
} = new ConfigurableModuleBuilder<WebhookOptions>()
  .setClassMethodName('forRoot')
  // One callback policy per process: global unless a caller asks otherwise.
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
