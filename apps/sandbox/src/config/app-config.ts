import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ContainerLimits } from '@brain-net/runner';
import { EnvironmentVariables, LogLevel } from './environment-variables';

/** The service's typed, validated configuration. Also its injection token. */
export class AppConfig {
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  readonly defaultTimeoutS: number;
  readonly maxTimeoutS: number;
  readonly maxConcurrentExecutions: number;
  readonly maxQueuedExecutions: number;
  readonly executionHistoryLimit: number;
  readonly sandboxImage: string;
  readonly limits: ContainerLimits;
  readonly warmPoolSize: number;
  readonly maxOutputBytes: number;
  readonly maxCodeBytes: number;
  readonly maxRequestBytes: number;
  readonly maxInputDepth: number;
  readonly maxConcurrentUploads: number;
  readonly storeMaxBytes: number;
  readonly engineCheckIntervalMs: number;
  readonly engineOutageWaitMs: number;
  readonly dockerHost: string | undefined;
  readonly instanceId: string;
  readonly databasePath: string;
  readonly backend: {
    readonly url: string;
    readonly timeoutMs: number;
    readonly processorPath: string;
    readonly adjustmentPath: string;
  };
  readonly processorCacheTtlMs: number;
  readonly adjustmentDelivery: {
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
  };

  constructor(env: EnvironmentVariables) {
    this.port = env.PORT;
    this.host = env.HOST;
    this.logLevel = env.LOG_LEVEL;
    this.defaultTimeoutS = Math.min(env.EXECUTION_TIMEOUT, env.MAX_TIMEOUT);
    this.maxTimeoutS = env.MAX_TIMEOUT;
    this.maxConcurrentExecutions = env.MAX_CONCURRENT_EXECUTIONS;
    this.maxQueuedExecutions = env.MAX_QUEUED_EXECUTIONS;
    this.executionHistoryLimit = env.EXECUTION_HISTORY_LIMIT;
    this.sandboxImage = env.SANDBOX_IMAGE;
    this.limits = {
      memoryBytes: env.SANDBOX_MEMORY_MB * 1024 * 1024,
      cpus: env.SANDBOX_CPUS,
      pids: env.SANDBOX_PIDS,
      tmpfsBytes: env.SANDBOX_TMPFS_MB * 1024 * 1024,
      openFiles: 256,
      fileSizeBytes: env.SANDBOX_TMPFS_MB * 1024 * 1024,
      user: env.SANDBOX_USER,
    };
    this.warmPoolSize = env.SANDBOX_WARM_POOL;
    this.maxOutputBytes = env.MAX_OUTPUT_BYTES;
    this.maxCodeBytes = env.MAX_CODE_BYTES;
    this.maxRequestBytes = env.MAX_REQUEST_BYTES;
    this.maxInputDepth = env.MAX_INPUT_DEPTH;
    this.maxConcurrentUploads = env.MAX_CONCURRENT_UPLOADS;
    this.storeMaxBytes = env.STORE_MAX_MB * 1024 * 1024;
    this.engineCheckIntervalMs = env.ENGINE_CHECK_INTERVAL_MS;
    this.engineOutageWaitMs = env.ENGINE_OUTAGE_WAIT_S * 1000;
    this.dockerHost = env.DOCKER_HOST;
    this.instanceId = env.SANDBOX_INSTANCE_ID;
    this.databasePath = env.DATABASE_PATH;
    this.backend = {
      url: env.BACKEND_URL.replace(/\/+$/, ''),
      timeoutMs: env.BACKEND_TIMEOUT_MS,
      processorPath: env.BACKEND_PROCESSOR_PATH,
      adjustmentPath: env.BACKEND_ADJUSTMENT_PATH,
    };
    this.processorCacheTtlMs = env.PROCESSOR_CACHE_TTL_S * 1000;
    this.adjustmentDelivery = {
      maxAttempts: env.ADJUSTMENT_MAX_ATTEMPTS,
      retryBaseMs: env.ADJUSTMENT_RETRY_BASE_MS,
      retryMaxMs: env.ADJUSTMENT_RETRY_MAX_MS,
    };
  }
}

export class InvalidConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'InvalidConfigError';
  }
}

/** Reads and validates the environment; throws naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const known = Object.fromEntries(
    Object.keys(new EnvironmentVariables())
      .concat('DOCKER_HOST')
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const variables = plainToInstance(EnvironmentVariables, known, { exposeDefaultValues: true });
  const errors = validateSync(variables, { skipMissingProperties: false });
  if (errors.length > 0) {
    throw new InvalidConfigError(
      errors.map((error) => {
        const reasons = Object.values(error.constraints ?? {}).join('; ');
        return `${error.property}=${JSON.stringify(known[error.property])}: ${reasons}`;
      }),
    );
  }
  return new AppConfig(variables);
}
