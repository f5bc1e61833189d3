import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AxiosBackendClient } from './axios-backend-client';
import { BackendClient } from './backend-client';
import { BackendClientOptions } from './backend-client-options';
import { BackendClientModule } from './backend-client.module';

const OPTIONS: BackendClientOptions = {
  baseUrl: 'http://backend.invalid',
  timeoutMs: 1_000,
  processorPath: '/processors/{processor_id}',
  adjustmentPath: '/processors/{processor_id}/adjustments',
  serviceToken: null,
};

@Injectable()
class Settings {
  readonly backend = OPTIONS;
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

/** Uses the client without importing BackendClientModule: it is global. */
@Injectable()
class Consumer {
  constructor(readonly backend: BackendClient) {}
}

@Module({ providers: [Consumer] })
class ConsumerModule {}

describe('BackendClientModule', () => {
  it('builds the axios client from options a factory gives, for every module', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        BackendClientModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings): BackendClientOptions => settings.backend,
        }),
        ConsumerModule,
      ],
    }).compile();

    expect(moduleRef.get(Consumer).backend).toBeInstanceOf(AxiosBackendClient);
    expect(moduleRef.get(BackendClientOptions)).toBe(OPTIONS);
    await moduleRef.close();
  });

  it('takes options as they are, too', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [BackendClientModule.forRoot(OPTIONS), ConsumerModule],
    }).compile();
    expect(moduleRef.get(Consumer).backend).toBeInstanceOf(AxiosBackendClient);
    await moduleRef.close();
  });
});
