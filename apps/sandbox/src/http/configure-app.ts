import type { Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { SERVICE_NAME, SERVICE_VERSION } from '../service-info';
import { translateBodyParserErrors } from './body-parser-errors';
import { JSON_MEDIA_TYPES, limitConcurrentUploads, parseJsonBody } from './json-body';
import { assignRequestId } from './request-id';

/** Longest a client may take to send a whole request (headers and body). */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * HTTP set-up shared by main.ts and the end-to-end tests (pipes and filters are
 * providers in AppModule; what lives here cannot be).
 */
export function configureApp(app: NestExpressApplication): void {
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  app.use(assignRequestId);
  app.use(limitConcurrentUploads(config.maxConcurrentUploads));
  // Read as bytes and checked without building objects: see parseJsonBody.
  app.useBodyParser('raw', { type: JSON_MEDIA_TYPES, limit: config.maxRequestBytes });
  app.use(translateBodyParserErrors);
  app.use(parseJsonBody({ maxFieldDepth: config.maxInputDepth, rawFields: ['input_data'] }));
  // A client that trickles its body holds an upload slot: give it a bounded time.
  const server: Server = app.getHttpServer();
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(server.headersTimeout, REQUEST_TIMEOUT_MS);
  app.enableShutdownHooks();
  app.set('x-powered-by', false);

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(SERVICE_NAME)
      .setDescription(
        'Runs Python code in a throwaway, locked-down Docker container per job and returns ' +
          'everything needed to improve it: output, errors with tracebacks, variables, timings.',
      )
      .setVersion(SERVICE_VERSION)
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
