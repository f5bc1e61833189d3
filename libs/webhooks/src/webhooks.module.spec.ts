import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HttpWebhookSender } from './http-webhook-sender';
import { WebhookOptions } from './webhook-options';
import { WebhookSender } from './webhook-sender';
import { WebhooksModule } from './webhooks.module';

const OPTIONS: WebhookOptions = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  allowedHosts: ['hooks.example.org'],
};

@Injectable()
class Settings {
  readonly webhooks = OPTIONS;
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

/** Uses the sender without importing WebhooksModule: it is global. */
@Injectable()
class Consumer {
  constructor(readonly sender: WebhookSender) {}
}

@Module({ providers: [Consumer] })
class ConsumerModule {}

describe('WebhooksModule', () => {
  it('builds the HTTP sender from options a factory gives, for every module', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        WebhooksModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings): WebhookOptions => settings.webhooks,
        }),
        ConsumerModule,
      ],
    }).compile();

    expect(moduleRef.get(Consumer).sender).toBeInstanceOf(HttpWebhookSender);
    expect(moduleRef.get(WebhookOptions)).toBe(OPTIONS);
    await moduleRef.close();
  });

  it('fails at startup on options it cannot read', async () => {
    const compiling = Test.createTestingModule({
      imports: [
        WebhooksModule.forRoot({ ...OPTIONS, allowPrivateAddresses: ['10.0.0.0/33'] }),
        ConsumerModule,
      ],
    }).compile();
    await expect(compiling).rejects.toThrow(/allowPrivateAddresses: "10.0.0.0\/33"/);
  });
});
