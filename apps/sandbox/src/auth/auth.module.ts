import { isIP } from 'node:net';
import { Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { AuthGuard } from './auth.guard';
import type { AuthSettings } from '../config/auth-settings';
import { AnonymousAuthenticator, Authenticator } from './authenticator';
import { JwtAuthenticator } from './jwt.authenticator';

/** The adapter of the configured AUTH_MODE; a broken key file stops the boot. */
export async function createAuthenticator(settings: AuthSettings): Promise<Authenticator> {
  switch (settings.mode) {
    case 'none':
      return new AnonymousAuthenticator();
    case 'api-key':
      return ApiKeyAuthenticator.open(settings.apiKeysFile);
    case 'jwt':
      return JwtAuthenticator.create(settings.jwt);
  }
}

/** 127.0.0.0/8, ::1 and localhost: a listener only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const address = host.replace(/^\[|\]$/g, '').replace(/^::ffff:/i, '');
  if (address.toLowerCase() === 'localhost' || address === '::1') return true;
  return isIP(address) === 4 && address.startsWith('127.');
}

/** Authentication: the global guard and the configured mode's Authenticator. */
@Module({
  providers: [
    {
      provide: Authenticator,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => createAuthenticator(config.auth),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [Authenticator],
})
export class AuthModule implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(private readonly config: AppConfig) {}

  onApplicationBootstrap(): void {
    const { auth, host } = this.config;
    if (auth.mode !== 'none') {
      this.logger.log(`AUTH_MODE=${auth.mode}`);
    } else if (!isLoopbackHost(host)) {
      this.logger.warn(
        `AUTH_MODE=none on HOST=${host}: anyone who reaches this port may run code. ` +
          'Set AUTH_MODE=api-key or jwt, or HOST=127.0.0.1.',
      );
    }
  }
}
