import { HttpStatus } from '@nestjs/common';

/** Every error the API can answer with. The one place that maps codes to HTTP statuses. */
export const ERROR_STATUS = {
  VALIDATION_FAILED: HttpStatus.BAD_REQUEST,
  MALFORMED_JSON: HttpStatus.BAD_REQUEST,
  /** A compressed body (Content-Encoding gzip, deflate, br) that does not decompress. */
  MALFORMED_BODY: HttpStatus.BAD_REQUEST,
  JSON_TOO_DEEP: HttpStatus.BAD_REQUEST,
  TIMEOUT_OUT_OF_RANGE: HttpStatus.BAD_REQUEST,
  /** `memory_mb`, `cpus` or `pids` above MAX_MEMORY_MB, MAX_CPUS or MAX_PIDS. */
  LIMIT_OUT_OF_RANGE: HttpStatus.BAD_REQUEST,
  /** A `runtime` that is none of SANDBOX_RUNTIMES' names (the message lists them). */
  UNKNOWN_RUNTIME: HttpStatus.BAD_REQUEST,
  CODE_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  /** `stdin` over MAX_STDIN_BYTES. */
  STDIN_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  /** A `files` entry with a path the working directory cannot hold, or neither or both of content and file_id. */
  INVALID_FILE: HttpStatus.BAD_REQUEST,
  /** A batch without items, or with more than MAX_BATCH_SIZE. */
  BATCH_SIZE_OUT_OF_RANGE: HttpStatus.BAD_REQUEST,
  /** More `files` entries than MAX_INPUT_FILES. */
  TOO_MANY_FILES: HttpStatus.BAD_REQUEST,
  /** A `files` entry's file_id that is no upload of this tenant (deleted, expired, never was). */
  UNKNOWN_FILE: HttpStatus.BAD_REQUEST,
  /** A request's `files` together over MAX_INPUT_FILES_MB. */
  FILES_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  /** One upload over MAX_UPLOAD_MB. */
  UPLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  /** The tenant's uploads would pass FILE_QUOTA_MB or FILE_QUOTA_COUNT. */
  FILE_QUOTA_EXCEEDED: HttpStatus.PAYLOAD_TOO_LARGE,
  /** A `callback_url` the service may not call (CALLBACK_ALLOWED_HOSTS, https, no credentials), or callbacks are off. */
  CALLBACK_URL_REFUSED: HttpStatus.BAD_REQUEST,
  UNSUPPORTED_MEDIA_TYPE: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  UNAUTHENTICATED: HttpStatus.UNAUTHORIZED,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  ROUTE_NOT_FOUND: HttpStatus.NOT_FOUND,
  EXECUTION_NOT_FOUND: HttpStatus.NOT_FOUND,
  ADJUSTMENT_NOT_FOUND: HttpStatus.NOT_FOUND,
  PROCESSOR_NOT_FOUND: HttpStatus.NOT_FOUND,
  BATCH_NOT_FOUND: HttpStatus.NOT_FOUND,
  /** No upload (GET/DELETE /files/{id}) or output file (GET /execution/{id}/files/{path}) has this name. */
  FILE_NOT_FOUND: HttpStatus.NOT_FOUND,
  EXECUTION_ALREADY_FINISHED: HttpStatus.CONFLICT,
  IDEMPOTENCY_KEY_REUSED: HttpStatus.UNPROCESSABLE_ENTITY,
  QUEUE_FULL: HttpStatus.TOO_MANY_REQUESTS,
  TENANT_QUEUE_FULL: HttpStatus.TOO_MANY_REQUESTS,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  /** The tenant has MAX_PENDING_ADJUSTMENTS_PER_TENANT adjustments not yet delivered. */
  TOO_MANY_PENDING_ADJUSTMENTS: HttpStatus.TOO_MANY_REQUESTS,
  BACKEND_UNAVAILABLE: HttpStatus.BAD_GATEWAY,
  ENGINE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  RUNTIME_IMAGE_MISSING: HttpStatus.SERVICE_UNAVAILABLE,
  /** The engine has no container runtime named SANDBOX_RUNTIME. */
  RUNTIME_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  SHUTTING_DOWN: HttpStatus.SERVICE_UNAVAILABLE,
  STORE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  /** The queue (Redis, in cluster mode) did not take the execution. */
  QUEUE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  TOO_MANY_UPLOADS: HttpStatus.SERVICE_UNAVAILABLE,
  /** One tenant already sends as many bodies at once as MAX_CONCURRENT_UPLOADS_PER_TENANT. */
  TENANT_TOO_MANY_UPLOADS: HttpStatus.TOO_MANY_REQUESTS,
  /** GET /playground on a service whose page was not bundled (`npm run build` does it). */
  PLAYGROUND_NOT_BUILT: HttpStatus.SERVICE_UNAVAILABLE,
  INTERNAL: HttpStatus.INTERNAL_SERVER_ERROR,
} as const satisfies Record<string, HttpStatus>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldProblem {
  readonly field: string;
  readonly messages: string[];
}

/** An error the service means to report to the client, with a stable code. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: {
      readonly fieldProblems?: FieldProblem[];
      readonly retryAfterS?: number;
      /** A 401's (or 403's) challenge, sent as the WWW-Authenticate header. */
      readonly wwwAuthenticate?: string;
    } = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get status(): HttpStatus {
    return ERROR_STATUS[this.code];
  }
}
