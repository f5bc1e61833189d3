import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { SERVICE_NAME, SERVICE_VERSION } from '../service-info';
import { translateBodyParserErrors } from './body-parser-errors';
import { assignRequestId } from './request-id';

/**
 * HTTP set-up shared by main.ts and the end-to-end tests (pipes and filters are
 * providers in AppModule; what lives here cannot be).
 */
export function configureApp(app: NestExpressApplication): void {
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  app.use(assignRequestId);
  app.useBodyParser('json', { limit: config.maxRequestBytes });
  app.use(translateBodyParserErrors);
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
