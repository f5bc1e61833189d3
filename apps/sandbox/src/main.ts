import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { InvalidConfigError, loadProcessConfig } from './config/app-config';
import { configureApp } from './bootstrap/configure-app';
import { installSafetyNet } from './process-safety-net';

async function bootstrap(): Promise<void> {
  const config = loadProcessConfig();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(config), {
    bodyParser: false,
    bufferLogs: true,
    // Let boot errors reach the handler below, which names a bad setting plainly.
    abortOnError: false,
  });
  configureApp(app);
  await app.listen(config.port, config.host);
  new Logger('Bootstrap').log(`listening on http://${config.host}:${config.port} (docs at /docs)`);
}

installSafetyNet(new Logger('SafetyNet'), (code) => {
  Logger.flush(); // what boot buffered (bufferLogs) would otherwise die with the process
  process.exit(code);
});

bootstrap().catch((error: unknown) => {
  // A bad setting is the operator's to fix: say which, without a stack trace.
  const invalid = findInvalidConfig(error);
  console.error(invalid ? invalid.message : error);
  process.exit(1);
});

function findInvalidConfig(error: unknown): InvalidConfigError | null {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof InvalidConfigError) return e;
  }
  return null;
}
