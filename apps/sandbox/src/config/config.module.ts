import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './app-config';

/**
 * Makes AppConfig injectable everywhere. The configuration is read and validated once,
 * before the application is built (main.ts: loadConfig(process.env)), because the
 * composition root builds each mode and role from it.
 */
@Module({})
export class ConfigModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: AppConfig, useValue: config }],
      exports: [AppConfig],
    };
  }
}
