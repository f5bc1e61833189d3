import { ConfigurableModuleBuilder } from '@nestjs/common';
import { RunnerOptions } from './runner-options';

export const {
  ConfigurableModuleClass: ConfigurableRunnerModule,
  MODULE_OPTIONS_TOKEN: RUNNER_OPTIONS_TOKEN,
} = new ConfigurableModuleBuilder<RunnerOptions>()
  .setClassMethodName('forRoot')
  // One engine connection and one warm pool per process: global unless a caller asks otherwise.
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
