import { Module } from '@nestjs/common';
import { DnsHostResolver, HostResolver } from './host-resolver';
import { HttpWebhookSender } from './http-webhook-sender';
import { WebhookOptions } from './webhook-options';
import { WebhookSender } from './webhook-sender';
import { ConfigurableWebhooksModule, WEBHOOK_OPTIONS_TOKEN } from './webhooks.module-definition';

/**
 * Provides the WebhookSender port, backed by axios: `WebhooksModule.forRoot(options)` or
 * `WebhooksModule.forRootAsync({ inject, useFactory })`.
 */
@Module({
  providers: [
    // The sender asks for its options by class, as every other options class is asked for.
    { provide: WebhookOptions, useExisting: WEBHOOK_OPTIONS_TOKEN },
    { provide: HostResolver, useClass: DnsHostResolver },
    { provide: WebhookSender, useClass: HttpWebhookSender },
  ],
  exports: [WebhookSender],
})
export class WebhooksModule extends ConfigurableWebhooksModule {}
