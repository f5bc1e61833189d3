import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { AppConfig, InvalidConfigError } from './config/app-config';
import { configureApp } from './http/configure-app';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    bufferLogs: true,
    // Let boot errors reach the handler below, which names a bad setting plainly.
    abortOnError: false,
  });
  configureApp(app);
  const config = app.get(AppConfig);
  await app.listen(config.port, config.host);
  new Logger('Bootstrap').log(`listening on http://${config.host}:${config.port} (docs at /docs)`);
}

// The safety net: one request or one job must never end the process. Work that fails
// unexpectedly is logged where it runs; anything that still escapes is logged here.
const safetyNet = new Logger('SafetyNet');
process.on('unhandledRejection', (reason: unknown) => {
  safetyNet.error('an unhandled promise rejection was contained', stackOf(reason));
});
process.on('uncaughtException', (error: Error) => {
  safetyNet.error('an uncaught exception was contained', error.stack);
});

function stackOf(reason: unknown): unknown {
  return reason instanceof Error ? reason.stack : reason;
}

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
