import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError } from '../errors/domain-error';
import { ProblemDetailsDto } from '../errors/problem-details.dto';
import { requestIdOf } from './request-id';

const TITLES: Partial<Record<HttpStatus, string>> = {
  [HttpStatus.BAD_REQUEST]: 'Bad Request',
  [HttpStatus.UNAUTHORIZED]: 'Unauthorized',
  [HttpStatus.FORBIDDEN]: 'Forbidden',
  [HttpStatus.NOT_FOUND]: 'Not Found',
  [HttpStatus.CONFLICT]: 'Conflict',
  [HttpStatus.UNPROCESSABLE_ENTITY]: 'Unprocessable Entity',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'Payload Too Large',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'Unsupported Media Type',
  [HttpStatus.TOO_MANY_REQUESTS]: 'Too Many Requests',
  [HttpStatus.BAD_GATEWAY]: 'Bad Gateway',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'Service Unavailable',
  [HttpStatus.INTERNAL_SERVER_ERROR]: 'Internal Server Error',
};

/**
 * The one place errors become HTTP answers: domain errors by their code, framework and
 * body-parser errors translated, anything else a 500 that hides internals.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemDetailsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const error = this.toDomainError(exception);
    if (error.code === 'INTERNAL') {
      this.logger.error(
        `unhandled error on ${request.method} ${request.url}`,
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    // Headers already sent (an event stream under way): neither headers nor a problem can follow.
    if (response.headersSent) return;
    const body: ProblemDetailsDto = {
      type: `urn:brain-net:sandbox:${error.code.toLowerCase().replace(/_/g, '-')}`,
      title: TITLES[error.status] ?? 'Error',
      status: error.status,
      detail: error.message,
      code: error.code,
      request_id: requestIdOf(request),
    };
    if (error.details.fieldProblems) body.errors = error.details.fieldProblems;
    if (error.details.retryAfterS !== undefined) {
      response.setHeader('Retry-After', String(error.details.retryAfterS));
    }
    // Authentication: RFC 6750's challenge, so clients know how to authenticate.
    if (error.details.wwwAuthenticate !== undefined) {
      response.setHeader('WWW-Authenticate', error.details.wwwAuthenticate);
    }
    response.status(error.status).type('application/problem+json').send(JSON.stringify(body));
  }

  private toDomainError(exception: unknown): DomainError {
    if (exception instanceof DomainError) return exception;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) return new DomainError('ROUTE_NOT_FOUND', exception.message);
      if (status === 413) return new DomainError('PAYLOAD_TOO_LARGE', exception.message);
      if (status < 500) return new DomainError('VALIDATION_FAILED', exception.message);
    }
    return new DomainError('INTERNAL', 'An internal error occurred; the request id identifies it.');
  }
}
