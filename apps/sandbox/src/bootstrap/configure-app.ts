import type { Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { raw, type ErrorRequestHandler, type RequestHandler } from 'express';
import { authenticateBeforeBody, earlyCallerOf, requireScopeMiddleware } from '../auth/access';
import { API_KEY_SCHEME, BEARER_SCHEME } from '../auth/access.decorators';
import { Authenticator } from '../auth/authenticator';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { SERVICE_NAME, SERVICE_VERSION } from '../service-info';
import { translateBodyParserErrors } from '../http/body-parser-errors';
import { HttpShutdown } from './http-shutdown';
import { finishOpenApiDocument } from './openapi-document';
import { ServiceEndpoints } from '../info/service-endpoints';
import { JSON_MEDIA_TYPES, parseJsonBody } from '../http/json-body';
import { limitConcurrentUploads } from '../http/upload-slots';
import { assignRequestId } from '../http/request-id';

/** The routes whose controllers read a JSON body; every other route leaves bodies unread. */
export const BODY_ROUTES = ['/execute', '/adjust-processor', '/executions/batch'];
/** Of those, the one whose body holds items of the others' kind (see arrayFields). */
const BATCH_ROUTE = '/executions/batch';
/** MCP's JSON-RPC route, and how far below its body's fields a tool's arguments sit. */
const MCP_ROUTE = '/mcp';
const MCP_ARGUMENT_LEVELS = 2;

/** The request headers of the API a browser page may send (CORS). */
export const CORS_REQUEST_HEADERS = [
  'Authorization',
  'X-API-Key',
  'Content-Type',
  'Idempotency-Key',
  'X-Request-Id',
  'Mcp-Protocol-Version',
];

/** The response headers of the API a browser page may read (CORS). */
export const CORS_RESPONSE_HEADERS = [
  'Location',
  'Retry-After',
  'X-Request-Id',
  'Idempotent-Replayed',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'WWW-Authenticate',
];

/** How long a browser may reuse a preflight's answer, in seconds. */
const CORS_MAX_AGE_S = 600;

/** Longest a client may take to send a whole request (headers and body). */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * HTTP set-up shared by main.ts and the end-to-end tests (pipes and filters are
 * providers in AppModule; what lives here cannot be).
 */
export function configureApp(app: NestExpressApplication): void {
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  // HTTP request metrics (issue 8): first, so answers of the middleware below count too.
  app.use(app.get(MetricsService).httpMiddleware);
  app.use(assignRequestId);
  // Graceful shutdown: every answer closes its connection once shutdown began.
  const shutdown = app.get(HttpShutdown);
  app.use(shutdown.middleware);
  // CORS (CORS_ORIGINS), before anything that authenticates: a preflight carries no
  // credentials, and is answered here (204) without reaching a route.
  if (config.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.corsOrigins === '*' ? '*' : [...config.corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'DELETE'],
      allowedHeaders: CORS_REQUEST_HEADERS,
      exposedHeaders: CORS_RESPONSE_HEADERS,
      maxAge: CORS_MAX_AGE_S,
    });
  }
  // Bodies are read on the routes that take one, and nowhere else: a body sent to any
  // other route (open ones included) is never read, authenticated for, nor given a slot.
  // Mounted as Express routes, they match a path exactly as the controllers' routes do
  // (any case, a trailing slash), and run first: Nest adds its routes at init.
  const express = app.getHttpAdapter().getInstance();
  const authenticator = app.get(Authenticator);
  // Refused before its body is read once shutdown began (see HttpShutdown).
  express.post(['/execute', BATCH_ROUTE], shutdown.refuseSubmits);
  // One bound for every JSON body under way, whichever route it is for.
  const jsonBodySlots = limitConcurrentUploads(
    { max: config.maxConcurrentUploads, maxPerTenant: config.maxConcurrentUploadsPerTenant },
    (request) => earlyCallerOf(request)?.tenant ?? '',
  );
  const readJsonBody = (parse: RequestHandler): (RequestHandler | ErrorRequestHandler)[] => [
    // Before any body is read: a caller without credentials gets its 401 for free.
    authenticateBeforeBody(authenticator),
    jsonBodySlots,
    // Read as bytes and checked without building objects: see parseJsonBody.
    raw({ type: JSON_MEDIA_TYPES, limit: config.maxRequestBytes }),
    translateBodyParserErrors,
    parse,
  ];
  express.post(
    BODY_ROUTES.filter((route) => route !== BATCH_ROUTE),
    ...readJsonBody(
      parseJsonBody({
        maxFieldDepth: config.maxInputDepth,
        rawFields: ['input_data', 'adjustments'],
      }),
    ),
  );
  // A batch's items are bodies of POST /execute: each one's input_data kept raw.
  express.post(
    BATCH_ROUTE,
    ...readJsonBody(
      parseJsonBody({
        maxFieldDepth: config.maxInputDepth,
        rawFields: [],
        arrayFields: { inputs: ['input_data'], items: ['input_data'] },
      }),
    ),
  );
  // MCP's JSON-RPC (POST /mcp): the same door, slots and bounded walk. A tool's input_data
  // sits in params.arguments, two levels below a body field; it is parsed, so it holds at
  // most MAX_PARSED_MEMBER_VALUES values (bulk data goes as a file).
  express.post(
    MCP_ROUTE,
    ...readJsonBody(
      parseJsonBody({ maxFieldDepth: config.maxInputDepth + MCP_ARGUMENT_LEVELS, rawFields: [] }),
    ),
  );
  // Uploads (POST /files) stream to the file store, never parsed here: the caller is
  // authenticated before the first byte is read, and bodies under way are bounded apart
  // from the JSON ones (they hold a connection and disk writes, not memory).
  express.post(
    '/files',
    authenticateBeforeBody(authenticator),
    limitConcurrentUploads(
      { max: config.maxConcurrentUploads, maxPerTenant: config.maxConcurrentUploadsPerTenant },
      (request) => earlyCallerOf(request)?.tenant ?? '',
    ),
  );
  // A client that trickles its body holds an upload slot: give it a bounded time.
  const server: Server = app.getHttpServer();
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(server.headersTimeout, REQUEST_TIMEOUT_MS);
  // SIGTERM: executions drained, HTTP server closed, then exit code 0. Not Nest's default of
  // re-raising the signal: in a container the service is PID 1, which ignores it.
  app.enableShutdownHooks([], { useProcessExit: true });
  app.set('x-powered-by', false);

  // Authentication: Swagger is served outside controllers, where the auth guard never runs.
  if (config.auth.protectDocs) {
    const adminOnly = requireScopeMiddleware(authenticator, 'admin');
    app.use(['/docs', '/docs-json', '/docs-yaml'], adminOnly);
  }
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(SERVICE_NAME)
      .setDescription(
        'Runs Python code in a throwaway, locked-down Docker container per job and returns ' +
          'everything needed to improve it: output, errors with tracebacks, variables, timings.',
      )
      .setVersion(SERVICE_VERSION)
      // Authentication: either scheme; a route's own security says which scope it needs.
      .addBearerAuth(
        { type: 'http', scheme: 'bearer', bearerFormat: 'API key or JWT' },
        BEARER_SCHEME,
      )
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, API_KEY_SCHEME)
      .build(),
  );
  finishOpenApiDocument(document, { bodyRoutes: BODY_ROUTES });
  // GET / lists the operations of this very document: the live routes.
  app.get(ServiceEndpoints).describe(document);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}
