import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { ContainerLimits } from '@brain-net/runner';
import { DestinationPolicy } from '@brain-net/webhooks';
import { EnvironmentVariables, LogLevel, Role } from './environment-variables';
import { AuthSettings, authSettingsOf } from './auth-settings';
import { RuntimeSettings, runtimeProblems, runtimeSettingsOf } from './runtime-settings';

/** Cluster mode's Redis (REDIS_URL and the settings that go with it). */
export interface RedisSettings {
  readonly url: string;
  readonly keyPrefix: string;
  readonly workerLostAfterMs: number;
}

/** The most a request may ask for in each limit it can set (`memory_mb`, `cpus`, `pids`). */
export interface RequestLimitMaxima {
  readonly memoryMb: number;
  readonly cpus: number;
  readonly pids: number;
}

/**
 * MAX_MEMORY_MB, MAX_CPUS and MAX_PIDS, or by default a few times the default limits:
 * today's defaults always fit, and a demanding job may ask for somewhat more.
 */
function requestLimitMaxima(env: EnvironmentVariables): RequestLimitMaxima {
  return {
    memoryMb: env.MAX_MEMORY_MB ?? 4 * env.SANDBOX_MEMORY_MB,
    cpus: env.MAX_CPUS ?? 2 * env.SANDBOX_CPUS,
    pids: env.MAX_PIDS ?? 4 * env.SANDBOX_PIDS,
  };
}

/** A maximum set below the default it bounds: the default itself would be refused. */
function maximaBelowDefaults(env: EnvironmentVariables): string[] {
  const pairs: [string, number | undefined, string, number][] = [
    ['MAX_MEMORY_MB', env.MAX_MEMORY_MB, 'SANDBOX_MEMORY_MB', env.SANDBOX_MEMORY_MB],
    ['MAX_CPUS', env.MAX_CPUS, 'SANDBOX_CPUS', env.SANDBOX_CPUS],
    ['MAX_PIDS', env.MAX_PIDS, 'SANDBOX_PIDS', env.SANDBOX_PIDS],
  ];
  return pairs
    .filter(([, max, , fallback]) => max !== undefined && max < fallback)
    .map(
      ([name, max, defaultName, fallback]) =>
        `${name}=${JSON.stringify(String(max))}: must not be below ${defaultName} (${fallback})`,
    );
}

/** Files in, files out, and uploads kept for reuse. */
export interface FileSettings {
  /** Entries of a request's `files`. */
  readonly maxInputFiles: number;
  /** Bytes of a request's `files` together. */
  readonly maxInputBytes: number;
  /** Bytes of one upload. */
  readonly maxUploadBytes: number;
  /** Bytes and count of uploads one tenant keeps at once. */
  readonly quotaBytes: number;
  readonly quotaCount: number;
  /** How long an upload is kept. */
  readonly retentionMs: number;
  /** Files returned from `out/`: count and bytes together. */
  readonly maxOutputFiles: number;
  readonly maxOutputBytes: number;
  /** matplotlib figures returned per run: count and PNG bytes together. */
  readonly maxFigures: number;
  readonly maxFigureBytes: number;
}

/** Execution callbacks: where they may go, how they are signed and retried. */
export interface CallbackSettings {
  /** Hosts a `callback_url` may name; empty: callbacks are off (every one refused). */
  readonly allowedHosts: readonly string[];
  /** Standard Webhooks secret; null only while callbacks are off. */
  readonly secret: string | null;
  /** Addresses that may be dialed although not public. */
  readonly allowPrivateAddresses: readonly string[];
  readonly allowHttp: boolean;
  /** Deadline of one attempt. */
  readonly timeoutMs: number;
  readonly delivery: {
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
  };
}

const MIB = 1024 * 1024;

/** A comma-separated list, spaces around entries dropped; empty: none. */
function listOf(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** The service's typed, validated configuration. Also its injection token. */
export class AppConfig {
  readonly port: number;
  readonly host: string;
  /** Browser origins CORS lets in (lower case), `*` for any; empty: CORS off. */
  readonly corsOrigins: '*' | readonly string[];
  /** PUBLIC_URL without a trailing slash; null: links are made from each request. */
  readonly publicUrl: string | null;
  readonly logLevel: LogLevel;
  readonly defaultTimeoutS: number;
  readonly maxTimeoutS: number;
  readonly maxConcurrentExecutions: number;
  readonly maxQueuedExecutions: number;
  readonly maxConcurrentPerTenant: number;
  readonly maxQueuedPerTenant: number;
  readonly rateLimitPerMinute: number;
  readonly executionHistoryLimit: number;
  /** The runtimes a request may pick (SANDBOX_RUNTIMES), the default first. */
  readonly runtimes: RuntimeSettings;
  /** The default runtime's image. */
  readonly sandboxImage: string;
  readonly limits: ContainerLimits;
  /** The most a request may ask for in `memory_mb`, `cpus` and `pids`. */
  readonly maxLimits: RequestLimitMaxima;
  readonly warmPoolSize: number;
  /** Modules warm containers import ahead of their job. */
  readonly preload: readonly string[];
  readonly maxOutputBytes: number;
  readonly maxCodeBytes: number;
  /** Largest `stdin`, in UTF-8 bytes. */
  readonly maxStdinBytes: number;
  readonly maxRequestBytes: number;
  /** Items of one batch. */
  readonly maxBatchSize: number;
  /** What a request may bring in `files`, and keep in uploads. */
  readonly files: FileSettings;
  readonly maxInputDepth: number;
  readonly maxConcurrentUploads: number;
  readonly maxConcurrentUploadsPerTenant: number;
  // Authentication
  readonly auth: AuthSettings;
  readonly storeMaxBytes: number;
  readonly engineCheckIntervalMs: number;
  readonly engineOutageWaitMs: number;
  /** Graceful shutdown: how long running executions may still finish after SIGTERM. */
  readonly shutdownGraceMs: number;
  readonly dockerHost: string | undefined;
  readonly instanceId: string;
  readonly databasePath: string;
  /** Cluster mode's Redis; null on one machine. */
  readonly redis: RedisSettings | null;
  readonly role: Role;
  readonly backend: {
    readonly url: string;
    readonly timeoutMs: number;
    readonly processorPath: string;
    readonly token: string | null;
    readonly adjustmentPath: string;
  };
  readonly processorCacheTtlMs: number;
  /** Callers without a bearer token of their own may run processors (fetched with BACKEND_TOKEN). */
  readonly processorFetchWithServiceToken: boolean;
  readonly adjustmentDelivery: {
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
  };
  /** POST /adjust-processor per tenant per minute; 0: no limit. */
  readonly adjustmentRateLimitPerMinute: number;
  readonly maxPendingAdjustmentsPerTenant: number;
  readonly callbacks: CallbackSettings;

  constructor(env: EnvironmentVariables) {
    this.port = env.PORT;
    this.host = env.HOST;
    // Browsers send scheme and host in lower case; the list is matched exactly.
    this.corsOrigins =
      env.CORS_ORIGINS === '*'
        ? '*'
        : env.CORS_ORIGINS.split(',')
            .map((origin) => origin.trim().toLowerCase())
            .filter((origin) => origin !== '');
    this.publicUrl = env.PUBLIC_URL === '' ? null : env.PUBLIC_URL.replace(/\/+$/, '');
    this.logLevel = env.LOG_LEVEL;
    this.defaultTimeoutS = Math.min(env.EXECUTION_TIMEOUT, env.MAX_TIMEOUT);
    this.maxTimeoutS = env.MAX_TIMEOUT;
    this.maxConcurrentExecutions = env.MAX_CONCURRENT_EXECUTIONS;
    this.maxQueuedExecutions = env.MAX_QUEUED_EXECUTIONS;
    this.maxConcurrentPerTenant = env.MAX_CONCURRENT_PER_TENANT ?? env.MAX_CONCURRENT_EXECUTIONS;
    this.maxQueuedPerTenant = env.MAX_QUEUED_PER_TENANT ?? env.MAX_QUEUED_EXECUTIONS;
    this.rateLimitPerMinute = env.RATE_LIMIT_PER_MINUTE;
    this.executionHistoryLimit = env.EXECUTION_HISTORY_LIMIT;
    this.runtimes = runtimeSettingsOf(env.SANDBOX_RUNTIMES, env.SANDBOX_IMAGE);
    this.sandboxImage = this.runtimes.default.image;
    this.limits = {
      memoryBytes: env.SANDBOX_MEMORY_MB * 1024 * 1024,
      cpus: env.SANDBOX_CPUS,
      pids: env.SANDBOX_PIDS,
      tmpfsBytes: env.SANDBOX_TMPFS_MB * 1024 * 1024,
      openFiles: 256,
      fileSizeBytes: env.SANDBOX_TMPFS_MB * 1024 * 1024,
      user: env.SANDBOX_USER,
      // Runtime: absent means the engine's default (runc); engineLimits() adapts the
      // pids limit to runsc.
      ...(env.SANDBOX_RUNTIME ? { runtime: env.SANDBOX_RUNTIME } : {}),
    };
    this.maxLimits = requestLimitMaxima(env);
    this.warmPoolSize = env.SANDBOX_WARM_POOL;
    this.preload = env.SANDBOX_PRELOAD.split(',').filter((name) => name !== '');
    this.maxOutputBytes = env.MAX_OUTPUT_BYTES;
    this.maxCodeBytes = env.MAX_CODE_BYTES;
    this.maxStdinBytes = env.MAX_STDIN_BYTES;
    this.maxRequestBytes = env.MAX_REQUEST_BYTES;
    this.maxBatchSize = env.MAX_BATCH_SIZE;
    this.files = {
      maxInputFiles: env.MAX_INPUT_FILES,
      maxInputBytes: env.MAX_INPUT_FILES_MB * MIB,
      maxUploadBytes: env.MAX_UPLOAD_MB * MIB,
      quotaBytes: env.FILE_QUOTA_MB * MIB,
      quotaCount: env.FILE_QUOTA_COUNT,
      retentionMs: env.FILE_RETENTION_HOURS * 3_600_000,
      maxOutputFiles: env.MAX_OUTPUT_FILES,
      maxOutputBytes: env.MAX_OUTPUT_FILES_MB * MIB,
      maxFigures: env.MAX_FIGURES,
      maxFigureBytes: env.MAX_FIGURES_MB * MIB,
    };
    this.maxInputDepth = env.MAX_INPUT_DEPTH;
    this.maxConcurrentUploads = env.MAX_CONCURRENT_UPLOADS;
    // Authentication
    this.auth = authSettingsOf(env);
    // Without authentication every caller is one tenant: its share is the whole.
    this.maxConcurrentUploadsPerTenant =
      env.MAX_CONCURRENT_UPLOADS_PER_TENANT ??
      (this.auth.mode === 'none'
        ? env.MAX_CONCURRENT_UPLOADS
        : Math.ceil(env.MAX_CONCURRENT_UPLOADS / 4));
    this.storeMaxBytes = env.STORE_MAX_MB * 1024 * 1024;
    this.engineCheckIntervalMs = env.ENGINE_CHECK_INTERVAL_MS;
    this.engineOutageWaitMs = env.ENGINE_OUTAGE_WAIT_S * 1000;
    this.shutdownGraceMs = env.SHUTDOWN_GRACE_MS;
    this.dockerHost = env.DOCKER_HOST;
    this.instanceId = env.SANDBOX_INSTANCE_ID;
    this.databasePath = env.DATABASE_PATH;
    this.redis = env.REDIS_URL
      ? {
          url: env.REDIS_URL,
          keyPrefix: env.REDIS_KEY_PREFIX,
          workerLostAfterMs: env.WORKER_LOST_AFTER_MS,
        }
      : null;
    this.role = env.ROLE;
    this.backend = {
      url: env.BACKEND_URL.replace(/\/+$/, ''),
      timeoutMs: env.BACKEND_TIMEOUT_MS,
      processorPath: env.BACKEND_PROCESSOR_PATH,
      token: env.BACKEND_TOKEN ?? null,
      adjustmentPath: env.BACKEND_ADJUSTMENT_PATH,
    };
    this.processorCacheTtlMs = env.PROCESSOR_CACHE_TTL_S * 1000;
    this.processorFetchWithServiceToken = env.PROCESSOR_FETCH_WITH_SERVICE_TOKEN;
    this.adjustmentDelivery = {
      maxAttempts: env.ADJUSTMENT_MAX_ATTEMPTS,
      retryBaseMs: env.ADJUSTMENT_RETRY_BASE_MS,
      retryMaxMs: env.ADJUSTMENT_RETRY_MAX_MS,
    };
    this.adjustmentRateLimitPerMinute = env.ADJUSTMENT_RATE_LIMIT_PER_MINUTE;
    this.maxPendingAdjustmentsPerTenant = env.MAX_PENDING_ADJUSTMENTS_PER_TENANT;
    this.callbacks = {
      allowedHosts: listOf(env.CALLBACK_ALLOWED_HOSTS),
      secret: env.CALLBACK_SECRET ?? null,
      allowPrivateAddresses: listOf(env.CALLBACK_ALLOW_PRIVATE),
      allowHttp: env.CALLBACK_ALLOW_HTTP,
      timeoutMs: env.CALLBACK_TIMEOUT_MS,
      delivery: {
        maxAttempts: env.CALLBACK_MAX_ATTEMPTS,
        retryBaseMs: env.CALLBACK_RETRY_BASE_MS,
        retryMaxMs: env.CALLBACK_RETRY_MAX_MS,
      },
    };
  }

  /** True when this instance runs executions (role all or worker). */
  get runsExecutions(): boolean {
    return this.role !== 'api';
  }
}

export class InvalidConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'InvalidConfigError';
  }
}

/**
 * Every variable EnvironmentVariables validates, taken from its decorators: an optional
 * one without a default has no key on an instance, yet must be read all the same.
 */
function validatedVariableNames(): Set<string> {
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(
    EnvironmentVariables,
    '',
    true,
    false,
  );
  return new Set(metadatas.map((metadata) => metadata.propertyName));
}

/** Reads and validates the environment; throws naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const known = Object.fromEntries(
    [...validatedVariableNames()]
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const variables = plainToInstance(EnvironmentVariables, known, { exposeDefaultValues: true });
  const errors = validateSync(variables, { skipMissingProperties: false });
  const problems = errors.map((error) => {
    const reasons = Object.values(error.constraints ?? {}).join('; ');
    return `${error.property}=${JSON.stringify(known[error.property])}: ${reasons}`;
  });
  // Only once each is valid on its own: a comparison with a rejected value says nothing.
  if (errors.length === 0) problems.push(...maximaBelowDefaults(variables));
  if (errors.length === 0 && variables.MAX_INPUT_FILES_MB > variables.SANDBOX_TMPFS_MB) {
    problems.push(
      `MAX_INPUT_FILES_MB=${JSON.stringify(String(variables.MAX_INPUT_FILES_MB))}: must not exceed SANDBOX_TMPFS_MB (${variables.SANDBOX_TMPFS_MB}), where the files are written`,
    );
  }
  if (errors.length === 0) problems.push(...callbackProblems(variables));
  if (errors.length === 0) {
    problems.push(...runtimeProblems(variables.SANDBOX_RUNTIMES, known.SANDBOX_IMAGE));
  }
  if (variables.ROLE !== 'all' && !variables.REDIS_URL) {
    problems.push(`ROLE=${variables.ROLE}: an api or worker instance needs REDIS_URL`);
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);
  return new AppConfig(variables);
}

/** Callbacks switched on without a secret, or lists DestinationPolicy cannot read. */
function callbackProblems(env: EnvironmentVariables): string[] {
  const allowedHosts = listOf(env.CALLBACK_ALLOWED_HOSTS);
  const problems: string[] = [];
  if (allowedHosts.length > 0 && !env.CALLBACK_SECRET) {
    problems.push(
      `CALLBACK_SECRET: required when CALLBACK_ALLOWED_HOSTS is set (${JSON.stringify(env.CALLBACK_ALLOWED_HOSTS)}): callbacks are signed with it`,
    );
  }
  try {
    new DestinationPolicy({
      allowedHosts,
      allowPrivateAddresses: listOf(env.CALLBACK_ALLOW_PRIVATE),
      allowHttp: env.CALLBACK_ALLOW_HTTP,
    });
  } catch (error: unknown) {
    const why = error instanceof Error ? error.message : String(error);
    problems.push(`CALLBACK_ALLOWED_HOSTS or CALLBACK_ALLOW_PRIVATE: ${why}`);
  }
  return problems;
}

/** The service's configuration, from this process's environment: main.ts calls it once. */
export function loadProcessConfig(): AppConfig {
  return loadConfig(process.env);
}
