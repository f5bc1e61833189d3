import { hostname } from 'node:os';
import { Transform, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
} from 'class-validator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The seed's Python logging names, as pino calls them. */
const PYTHON_LOG_LEVELS: Record<string, LogLevel> = {
  critical: 'fatal',
  warning: 'warn',
};

/** `INFO`, `Warning`, `critical`…: any case, the seed's names as well as pino's. */
function toLogLevel({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const lower = value.trim().toLowerCase();
  return PYTHON_LOG_LEVELS[lower] ?? lower;
}

/**
 * Every setting the service reads from its environment, with defaults. Validated once
 * at boot by loadConfig(); nothing else reads process.env.
 */
export class EnvironmentVariables {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 8001;

  @IsString()
  HOST = '0.0.0.0';

  @Transform(toLogLevel)
  @IsIn(LOG_LEVELS, {
    message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} or DEBUG, INFO, WARNING, ERROR, CRITICAL`,
  })
  LOG_LEVEL: LogLevel = 'info';

  /** Default timeout (seconds) of an execution that does not set one. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  EXECUTION_TIMEOUT = 60;

  /** Largest timeout (seconds) a request may ask for. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  MAX_TIMEOUT = 300;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_CONCURRENT_EXECUTIONS = 10;

  /** Executions that may wait for a slot; beyond it POST /execute answers 429. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  MAX_QUEUED_EXECUTIONS = 100;

  /** Finished executions kept for GET /execution/{id} (oldest dropped first). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  EXECUTION_HISTORY_LIMIT = 1000;

  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  BACKEND_URL = 'http://backend:8000';

  @IsString()
  @Matches(/^[\w./:@-]+$/, { message: 'SANDBOX_IMAGE must be an image reference' })
  SANDBOX_IMAGE = 'brain-net-sandbox-runtime:3.11';

  @Type(() => Number)
  @IsInt()
  @Min(16)
  @Max(65536)
  SANDBOX_MEMORY_MB = 256;

  @Type(() => Number)
  @IsNumber()
  @Min(0.01)
  @Max(64)
  SANDBOX_CPUS = 1;

  @Type(() => Number)
  @IsInt()
  @Min(8)
  @Max(4096)
  SANDBOX_PIDS = 64;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(4096)
  SANDBOX_TMPFS_MB = 64;

  /**
   * Containers kept started (harness waiting, never used) ahead of jobs, so a job skips
   * create and start. Each serves one job only. 0 turns the pool off.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100)
  SANDBOX_WARM_POOL = 2;

  @Matches(/^\d+:\d+$/, { message: 'SANDBOX_USER must be uid:gid' })
  @Matches(/^(?!0:)/, { message: 'SANDBOX_USER must not be root' })
  SANDBOX_USER = '10001:10001';

  /** Cap on each of stdout and stderr, in bytes. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(64 * 1024 * 1024)
  MAX_OUTPUT_BYTES = 1024 * 1024;

  @Type(() => Number)
  @IsInt()
  @Min(1024)
  MAX_CODE_BYTES = 512 * 1024;

  /** Largest request body; beyond it the answer is 413. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  MAX_REQUEST_BYTES = 4 * 1024 * 1024;

  /** Deepest nesting of `input_data` (the object itself is level 1); deeper is a 400. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_INPUT_DEPTH = 64;

  /**
   * Requests whose bodies are being received at once; beyond it a new body is refused
   * with 503, so slow or many uploads cannot hold more than this × MAX_REQUEST_BYTES.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_CONCURRENT_UPLOADS = 32;

  /**
   * Budget for the bulky fields of stored executions (code, input, output, exceptions,
   * variables); beyond it the oldest finished ones lose them (status and times stay).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  STORE_MAX_MB = 1024;

  /** How often the engine is pinged (and its image checked) while nothing else asks. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  ENGINE_CHECK_INTERVAL_MS = 1000;

  /**
   * How long a queued execution waits for an engine (or runtime image) that went away
   * before it fails; it runs as soon as they are back.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(86_400)
  ENGINE_OUTAGE_WAIT_S = 300;

  /** SQLite file for durable records (executions, adjustments); `:memory:`: nothing survives a restart. */
  @IsString()
  DATABASE_PATH = 'data/sandbox.db';

  /** Timeout of each call to the backend, in milliseconds. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120_000)
  BACKEND_TIMEOUT_MS = 5000;

  /** Where a processor's definition is fetched: GET BACKEND_URL + this, `{processor_id}` filled in. */
  @Matches(/^\/.*\{processor_id\}/, {
    message: 'BACKEND_PROCESSOR_PATH must start with / and contain {processor_id}',
  })
  BACKEND_PROCESSOR_PATH = '/api/processors/{processor_id}';

  /** Where adjustments are delivered: POST BACKEND_URL + this, `{processor_id}` filled in. */
  @Matches(/^\/.*\{processor_id\}/, {
    message: 'BACKEND_ADJUSTMENT_PATH must start with / and contain {processor_id}',
  })
  BACKEND_ADJUSTMENT_PATH = '/api/processors/{processor_id}/adjustments';

  /** How long a fetched processor definition is reused, in seconds (0: never cached). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  PROCESSOR_CACHE_TTL_S = 30;

  /** Delivery attempts of one adjustment before it is marked failed. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  ADJUSTMENT_MAX_ATTEMPTS = 10;

  /** First retry delay in ms; doubles per attempt, with jitter, up to ADJUSTMENT_RETRY_MAX_MS. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  ADJUSTMENT_RETRY_BASE_MS = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(10)
  ADJUSTMENT_RETRY_MAX_MS = 60_000;

  /**
   * Marks this instance's containers. Stable across restarts (the host or pod name by
   * default), so a restarted instance sweeps its own leftovers and no one else's.
   */
  @Matches(/^[\w.-]{1,64}$/, {
    message: 'SANDBOX_INSTANCE_ID may contain letters, digits, _ . - only',
  })
  SANDBOX_INSTANCE_ID = hostname();

  /** unix:///var/run/docker.sock or tcp://host:port; the local socket when unset. */
  @IsOptional()
  @Matches(/^(unix|tcp|http|https):\/\/.+/, {
    message: 'DOCKER_HOST must look like unix:///path or tcp://host:port',
  })
  DOCKER_HOST?: string;
}
