import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DockerRunner } from './docker-runner';
import { DockerodeRunner } from './dockerode-runner';
import { RunnerOptions } from './runner-options';
import { RunnerModule } from './runner.module';

/** No warm pool: nothing here talks to an engine. */
const OPTIONS: RunnerOptions = {
  dockerHost: 'unix:///nonexistent/docker.sock',
  instanceId: 'instance-1',
  warmPool: null,
};

@Injectable()
class Settings {
  readonly runner = OPTIONS;
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

/** Uses the runner without importing RunnerModule: it is global. */
@Injectable()
class Consumer {
  constructor(readonly runner: DockerRunner) {}
}

@Module({ providers: [Consumer] })
class ConsumerModule {}

describe('RunnerModule', () => {
  it('builds the dockerode runner from options a factory gives, for every module', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RunnerModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings): RunnerOptions => settings.runner,
        }),
        ConsumerModule,
      ],
    }).compile();

    expect(moduleRef.get(Consumer).runner).toBeInstanceOf(DockerodeRunner);
    expect(moduleRef.get(RunnerOptions)).toBe(OPTIONS);
    await moduleRef.close();
  });

  it('takes options as they are, too', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RunnerModule.forRoot(OPTIONS), ConsumerModule],
    }).compile();
    expect(moduleRef.get(Consumer).runner).toBeInstanceOf(DockerodeRunner);
    await moduleRef.close();
  });
});
