import type { IncomingMessage } from 'node:http';
import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { type LogFn, type Logger, pino } from 'pino';
import type { Request } from 'express';
import { AppConfig } from '../config/app-config';
import { requestIdOf } from '../http/request-id';

/** Probes and scrapes arrive every few seconds; their access lines drown the rest. */
const QUIET_PATHS = /^\/(health|metrics)(\/|$|\?)/;

/**
 * pino's logMethod hook: drops the `undefined` that Nest's Logger.error passes for a
 * missing stack. Given an argument after the message, pino formats the message
 * printf-style, and a `%s` in it (a shell hint, a path) would print as "undefined".
 */
export function dropMissingArguments(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const kept: Parameters<LogFn> = [...args];
  while (kept.length > 2 && kept[kept.length - 1] === undefined) kept.pop();
  method.apply(this, kept);
}

/** Structured JSON logs (pino) at LOG_LEVEL, each request line carrying its request id. */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: [
          {
            level: config.logLevel,
            hooks: { logMethod: dropMissingArguments },
            // The id assignRequestId gave the request, so logs and error bodies agree.
            genReqId: (request: IncomingMessage) => requestIdOf(request as Request),
            autoLogging: {
              ignore: (request: IncomingMessage) => QUIET_PATHS.test(request.url ?? ''),
            },
            serializers: {
              req: (req: { id: string; method: string; url: string }) => ({
                id: req.id,
                method: req.method,
                url: req.url,
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
          },
          // Written off the request path; lines that arrive while a write is under way go
          // out together with the next (pino flushes what is left when the process exits).
          pino.destination({ dest: 1, sync: false }),
        ],
      }),
    }),
  ],
})
export class LoggingModule {}
