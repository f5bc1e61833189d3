import { hostname } from 'node:os';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import {
  AUTH_MODES,
  AuthEnvironment,
  AuthMode,
  ValidateAuthSettings,
  toFlag,
} from './auth-settings';
import { IsRuntimeList } from './runtime-settings';
import { IsSandboxUser } from './sandbox-user';

export const ROLES = ['all', 'api', 'worker'] as const;
/** What an instance does: take requests (api), run executions (worker), or both (all). */
export type Role = (typeof ROLES)[number];

/** An origin as a browser sends it: scheme, host, optional port, nothing after. */
const ORIGIN = String.raw`https?://[^\s,/]+`;
/** `*`, or origins separated by commas (with spaces around them or not); empty: off. */
/** Empty, or an http(s) URL: scheme, host, optional port and path; no query or fragment. */
export const PUBLIC_URL_PATTERN = /^(https?:\/\/[^\s/?#]+(\/[^\s?#]*)?)?$/;

export const CORS_ORIGINS_PATTERN = new RegExp(String.raw`^(\*|${ORIGIN}(\s*,\s*${ORIGIN})*)?$`);

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
 * at boot by loadConfig(); nothing else reads process.env. The doc comments below, in
 * Markdown, are the settings table of docs/configuration.md (`npm run docs:config`);
 * `@default` describes a default the initialiser does not show.
 */
export class EnvironmentVariables implements AuthEnvironment {
  /** HTTP port. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 8001;

  /** Listen address. */
  @IsString()
  HOST = '0.0.0.0';

  /**
   * Browser origins allowed to call the API (CORS), comma-separated, each a scheme and
   * host with an optional port (`https://app.example.com,http://localhost:3000`), or `*`
   * for any. Unset: no CORS headers at all, so browsers keep pages of other origins out.
   * Preflight (`OPTIONS`) requests need no credentials.
   */
  @Matches(CORS_ORIGINS_PATTERN, {
    message:
      'CORS_ORIGINS must be * or comma-separated origins such as https://app.example.com (scheme, host, optional port; no path)',
  })
  CORS_ORIGINS = '';

  /**
   * Where callers reach this service, when it is not where requests say: an ingress that
   * terminates TLS, or serves the service under a path prefix
   * (`https://sandbox.example.org/sandbox`). The absolute links the service hands out (the
   * MCP tools' download links) start with it. Unset: the scheme and `Host` of each request.
   */
  @Matches(PUBLIC_URL_PATTERN, {
    message:
      'PUBLIC_URL must be an http or https URL with an optional path and no query, such as https://sandbox.example.org/sandbox',
  })
  PUBLIC_URL = '';

  /**
   * Least severe level logged: pino's names, or the seed's `CRITICAL`, `ERROR`, `WARNING`,
   * `INFO`, `DEBUG`; any case.
   */
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

  /** Largest `timeout` (seconds) a request may ask for. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  MAX_TIMEOUT = 300;

  /**
   * Containers running at once on this instance; the rest wait, round-robin across tenants
   * and FIFO within one (cluster mode: first come, first served).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_CONCURRENT_EXECUTIONS = 10;

  /**
   * Executions that may wait for a slot (in cluster mode: across the cluster); beyond it
   * `POST /execute` answers `429` with `Retry-After`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  MAX_QUEUED_EXECUTIONS = 100;

  /**
   * One tenant's running executions at once (one machine; in cluster mode jobs run first
   * come, first served).
   * @default `MAX_CONCURRENT_EXECUTIONS`
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_CONCURRENT_PER_TENANT?: number;

  /**
   * One tenant's waiting executions (in cluster mode: across the cluster); beyond it
   * `429 TENANT_QUEUE_FULL`.
   * @default `MAX_QUEUED_EXECUTIONS`
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  MAX_QUEUED_PER_TENANT?: number;

  /**
   * `POST /execute` per tenant per sliding minute (in cluster mode: across the cluster);
   * beyond it `429 RATE_LIMITED` with `RateLimit-*` headers. `0` turns it off.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE = 600;

  /** Finished executions kept for `GET /execution/{id}` (oldest dropped first). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  EXECUTION_HISTORY_LIMIT = 1000;

  /** The main backend. */
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  BACKEND_URL = 'http://backend:8000';

  /**
   * Runtime image tag (see [The runtime image](#the-runtime-image)): the default runtime's
   * image. With `SANDBOX_RUNTIMES` set, it must name the same image as its first entry, or
   * be left out.
   */
  @IsString()
  @Matches(/^[\w./:@-]+$/, { message: 'SANDBOX_IMAGE must be an image reference' })
  SANDBOX_IMAGE = 'brain-net-sandbox-runtime:3.11';

  /**
   * The runtimes a request may pick with `runtime` (`GET /runtimes` lists them): `name=image`
   * entries separated by commas, the default first, each name (lower case) and image once:
   * `python-3.11=brain-net-sandbox-runtime:3.11,py-min=brain-net-sandbox-runtime-minimal:3.11`.
   * Readiness checks every image. See [Runtimes](../README.md#runtimes).
   * @default one runtime, `python-3.11` = `SANDBOX_IMAGE`
   */
  @IsRuntimeList()
  SANDBOX_RUNTIMES = '';

  /** Memory limit per container, in MiB (swap equal to it: none extra). */
  @Type(() => Number)
  @IsInt()
  @Min(16)
  @Max(65536)
  SANDBOX_MEMORY_MB = 256;

  /** CPU quota per container. */
  @Type(() => Number)
  @IsNumber()
  @Min(0.01)
  @Max(64)
  SANDBOX_CPUS = 1;

  /** Processes and threads per container. */
  @Type(() => Number)
  @IsInt()
  @Min(8)
  @Max(4096)
  SANDBOX_PIDS = 64;

  /** Size of the writable `/tmp`, in MiB (also the largest file). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(4096)
  SANDBOX_TMPFS_MB = 64;

  /**
   * Largest `memory_mb` a request may ask for; above it `400 LIMIT_OUT_OF_RANGE`. Must
   * not be below `SANDBOX_MEMORY_MB`. A container's memory is the host's: this times
   * `MAX_CONCURRENT_EXECUTIONS` is what running jobs may hold at once.
   * @default 4 × `SANDBOX_MEMORY_MB` (`1024`)
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(16)
  @Max(262_144)
  MAX_MEMORY_MB?: number;

  /**
   * Largest `cpus` (CPU quota) a request may ask for; above it `400 LIMIT_OUT_OF_RANGE`.
   * Must not be below `SANDBOX_CPUS`.
   * @default 2 × `SANDBOX_CPUS` (`2`)
   */
  @IsOptional()
  @Type(() => Number)
  @IsNumber()
  @Min(0.01)
  @Max(128)
  MAX_CPUS?: number;

  /**
   * Largest `pids` (processes and threads) a request may ask for; above it
   * `400 LIMIT_OUT_OF_RANGE`. Must not be below `SANDBOX_PIDS`.
   * @default 4 × `SANDBOX_PIDS` (`256`)
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(8)
  @Max(16_384)
  MAX_PIDS?: number;

  /**
   * Budget of warm containers: started ahead of jobs (harness waiting, never used), ready
   * or being prepared; a job takes the one that will be ready first. Each serves one job
   * only. `0` turns the pool off. Within it the pool keeps one ready plus as many under
   * way as jobs arrive while one is prepared (over the last 10 s), the whole budget until
   * a job comes. A ready container a job takes is replaced once that job is answered (one
   * a job finds still being prepared, at once), unless as many jobs run as the host has
   * cores. The default runtime has them all until jobs ask for others, then each
   * runtime asked for in the last 10 minutes gets a share in proportion to its jobs. A
   * warm container holds 48 MiB, ~107 MiB with numpy and pandas preloaded.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100)
  SANDBOX_WARM_POOL = 4;

  /**
   * Modules a warm container imports while it waits for its job (comma-separated), so
   * that the job's own `import pandas` costs nothing; empty: none. Only those whose
   * top-level package (`matplotlib` of `matplotlib.pyplot`) one of the last 50 jobs
   * imported are preloaded; all of them until a job has come. Cold containers import
   * nothing ahead. The same list for every runtime: a module a runtime lacks is
   * skipped there. For plotting and model fitting add `matplotlib.pyplot` and
   * `sklearn.linear_model`: their jobs then take 3× and 1.4× a `print(1)` instead of 6×,
   * but each warm container holds 107 MiB instead of 48 (of the job's memory limit), and
   * needs a few seconds of CPU to get ready (docs/benchmarks.md).
   */
  @Matches(/^([A-Za-z_][\w.]*(,[A-Za-z_][\w.]*)*)?$/, {
    message: 'SANDBOX_PRELOAD must be module names separated by commas',
  })
  SANDBOX_PRELOAD = 'numpy,pandas';

  /**
   * The user inside the container: numeric `uid:gid`, or `uid` (gid = uid); an id 0,
   * `root` or any other name is refused.
   */
  @IsSandboxUser()
  SANDBOX_USER = '10001:10001';

  // Runtime
  /**
   * The engine's container runtime for every sandbox container (`HostConfig.Runtime`),
   * e.g. `runsc` for gVisor. The engine must know it (`scripts/provision-engine.sh`
   * registers `runsc`): otherwise the service is not ready and `POST /execute` answers
   * `503 RUNTIME_UNAVAILABLE`.
   * @default the engine's default (runc)
   */
  @Matches(/^([A-Za-z0-9][\w.-]{0,63})?$/, {
    message: 'SANDBOX_RUNTIME must be a runtime name such as runsc (letters, digits, _ . -)',
  })
  SANDBOX_RUNTIME = '';

  /** Cap on each of stdout and stderr, in bytes. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(64 * 1024 * 1024)
  MAX_OUTPUT_BYTES = 1024 * 1024;

  /** Largest `code`, in bytes; beyond it `413`. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  MAX_CODE_BYTES = 512 * 1024;

  /**
   * Largest `stdin`, in UTF-8 bytes; beyond it `413 STDIN_TOO_LARGE`. `0` refuses any
   * non-empty `stdin`. The request body must hold it too (`MAX_REQUEST_BYTES`).
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(64 * 1024 * 1024)
  MAX_STDIN_BYTES = 1024 * 1024;

  /**
   * Entries a request's `files` may hold (inline or by `file_id`); beyond it
   * `400 TOO_MANY_FILES`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000)
  MAX_INPUT_FILES = 100;

  /**
   * Bytes of all a request's `files` together (inline ones decoded, uploaded ones at
   * their size), in MiB; beyond it `413 FILES_TOO_LARGE`. They are written to the
   * container's `/tmp`, so must fit `SANDBOX_TMPFS_MB` with room for what the code writes.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(4096)
  MAX_INPUT_FILES_MB = 32;

  /** Largest file `POST /files` takes, in MiB; beyond it `413 UPLOAD_TOO_LARGE`. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(16_384)
  MAX_UPLOAD_MB = 100;

  /**
   * Bytes of uploads one tenant may keep at once, in MiB; an upload past it is refused
   * whole with `413 FILE_QUOTA_EXCEEDED`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  FILE_QUOTA_MB = 1024;

  /** Uploads one tenant may keep at once; past it `413 FILE_QUOTA_EXCEEDED`. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  FILE_QUOTA_COUNT = 1000;

  /** How long an upload is kept, in hours, before it is deleted. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(87_600)
  FILE_RETENTION_HOURS = 168;

  /**
   * Files under the code's `out/` returned after a run, at most; the rest are listed as
   * omitted (`files_truncated`).
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  MAX_OUTPUT_FILES = 20;

  /**
   * Bytes of the files returned from `out/` together, in MiB; a file that does not fit
   * whole is listed as omitted, never cut.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1024)
  MAX_OUTPUT_FILES_MB = 16;

  /**
   * matplotlib figures returned per run as PNGs (those shown with `plt.show()` and those
   * left open); the ones past it are counted in `figures_omitted`. 0: none are rendered.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(50)
  MAX_FIGURES = 20;

  /**
   * Bytes of a run's figures together, in MiB; a figure whose PNG does not fit what is
   * left comes back with an `error`, never cut. Each is also held to 4 megapixels: a
   * larger one is rendered at a lower resolution.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(256)
  MAX_FIGURES_MB = 8;

  /**
   * Items a batch (`POST /executions/batch`) may hold; beyond it
   * `400 BATCH_SIZE_OUT_OF_RANGE`. A batch is admitted whole or not at all, so it must also
   * fit the queue (`MAX_QUEUED_PER_TENANT` besides the running slots).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_BATCH_SIZE = 100;

  /** Largest request body, in bytes; beyond it `413`. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  MAX_REQUEST_BYTES = 4 * 1024 * 1024;

  /**
   * Deepest nesting of `input_data` (the object itself is level 1); deeper is
   * `400 JSON_TOO_DEEP`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_INPUT_DEPTH = 64;

  /**
   * Request bodies being received at once, on the routes that read one; beyond it a new
   * body is refused with `503 TOO_MANY_UPLOADS` and `Retry-After`, so slow or many
   * uploads cannot hold more than this × `MAX_REQUEST_BYTES`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_CONCURRENT_UPLOADS = 32;

  /**
   * One tenant's request bodies at once; beyond it `429 TENANT_TOO_MANY_UPLOADS` with
   * `Retry-After`. Unset with `AUTH_MODE=none` (one tenant): all of `MAX_CONCURRENT_UPLOADS`.
   * @default a quarter of `MAX_CONCURRENT_UPLOADS`, rounded up
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_CONCURRENT_UPLOADS_PER_TENANT?: number;

  // Authentication
  /**
   * `none` (every caller is an anonymous admin), `api-key` or `jwt`: see
   * [Authentication](api.md#authentication). The rules across the authentication
   * variables (`api-key` needs `API_KEYS_FILE`, say) are reported under this one.
   */
  @IsIn(AUTH_MODES, { message: `AUTH_MODE must be one of ${AUTH_MODES.join(', ')}` })
  @ValidateAuthSettings()
  AUTH_MODE: AuthMode = 'none';

  /**
   * `api-key` mode: the JSON key file, a list of `{name, key_sha256, tenant, scopes}`
   * (hashes only); re-read when it changes.
   */
  @IsString()
  API_KEYS_FILE = '';

  /** `jwt` mode: the backend's JSON Web Key Set (cached; refetched for an unknown key id). */
  @ValidateIf((env: EnvironmentVariables) => env.AUTH_JWKS_URL !== '')
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  AUTH_JWKS_URL = '';

  /**
   * `jwt` mode: least time (seconds) between two key-set fetches caused by unknown key
   * ids.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3600)
  AUTH_JWKS_COOLDOWN_S = 30;

  /**
   * `jwt` mode, instead of `AUTH_JWKS_URL`: the HS256 secret shared with the backend
   * (32+ characters).
   */
  @IsString()
  AUTH_JWT_SECRET = '';

  /** `jwt` mode: the required `iss`. */
  @IsString()
  AUTH_JWT_ISSUER = '';

  /** `jwt` mode: the required `aud`. */
  @IsString()
  AUTH_JWT_AUDIENCE = '';

  /**
   * `jwt` mode: tolerated difference (seconds) between the backend's clock and ours for
   * `exp` and `nbf`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600)
  AUTH_JWT_CLOCK_SKEW_S = 30;

  /** `jwt` mode: the claim that names the caller's tenant. */
  @IsString()
  AUTH_TENANT_CLAIM = 'tenant';

  /** `jwt` mode: the claim with the caller's scopes (a space-separated string or an array). */
  @IsString()
  AUTH_SCOPES_CLAIM = 'scope';

  /** `/docs` and `/docs-json` need the `admin` scope. */
  @Transform(toFlag)
  @IsBoolean({ message: 'AUTH_PROTECT_DOCS must be true or false' })
  AUTH_PROTECT_DOCS = false;

  /**
   * `/metrics` needs the `admin` scope; unset: whenever `AUTH_MODE` is not `none`. Set to
   * `false` with authentication on, `/metrics` is open without the per-tenant series.
   * @default on with authentication
   */
  @IsOptional()
  @Transform(toFlag)
  @IsBoolean({ message: 'AUTH_PROTECT_METRICS must be true or false' })
  AUTH_PROTECT_METRICS?: boolean;

  /**
   * Budget (MiB) for the bulky fields of stored executions (code, input, output,
   * exceptions, variables); beyond it the oldest finished ones lose them (status and
   * times stay): see "Disk" in [Operations](operations.md#hostile-callers-and-engine-faults).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  STORE_MAX_MB = 1024;

  /**
   * How often the engine is pinged and the runtime image checked while nothing else
   * asks (the engine's events are followed too).
   */
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

  /**
   * Graceful shutdown: how long executions still running when `SIGTERM` comes may take to
   * finish before they are cancelled (their containers killed and removed). Queued ones
   * are cancelled at once; `POST /execute` answers 503 from the start. Kubernetes'
   * `terminationGracePeriodSeconds` must exceed it by a few seconds: see
   * [Graceful shutdown](operations.md#graceful-shutdown).
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  SHUTDOWN_GRACE_MS = 25_000;

  /**
   * SQLite file for durable records: executions (one machine) and adjustments.
   * `:memory:`: nothing survives a restart.
   */
  @IsString()
  DATABASE_PATH = 'data/sandbox.db';

  /**
   * The service's own bearer token for the backend (adjustment delivery, and processor
   * fetches when the caller has no token of its own); unset: none is sent.
   */
  @IsOptional()
  @IsString()
  BACKEND_TOKEN?: string;

  /** Timeout of each call to the backend, in milliseconds. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120_000)
  BACKEND_TIMEOUT_MS = 5000;

  /**
   * Where a processor's definition is fetched: `GET` `BACKEND_URL` + this,
   * `{processor_id}` filled in; the answer is `{"code": "..."}`.
   */
  @Matches(/^\/.*\{processor_id\}/, {
    message: 'BACKEND_PROCESSOR_PATH must start with / and contain {processor_id}',
  })
  BACKEND_PROCESSOR_PATH = '/api/processors/{processor_id}';

  /**
   * Where adjustments are delivered: `POST` `BACKEND_URL` + this, `{processor_id}`
   * filled in.
   */
  @Matches(/^\/.*\{processor_id\}/, {
    message: 'BACKEND_ADJUSTMENT_PATH must start with / and contain {processor_id}',
  })
  BACKEND_ADJUSTMENT_PATH = '/api/processors/{processor_id}/adjustments';

  /**
   * How long (seconds) a definition fetched with `BACKEND_TOKEN` is reused, within the
   * caller's tenant only (`0`: never cached); fetches with a caller's own token are never
   * reused.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  PROCESSOR_CACHE_TTL_S = 30;

  /**
   * Whether a caller without a bearer token of its own (`api-key` or `none` mode) may run
   * a processor by `processor_id`, fetched with `BACKEND_TOKEN`; `false`: `403 FORBIDDEN`,
   * nothing fetched.
   */
  @Transform(toFlag)
  @IsBoolean({ message: 'PROCESSOR_FETCH_WITH_SERVICE_TOKEN must be true or false' })
  PROCESSOR_FETCH_WITH_SERVICE_TOKEN = true;

  /** Delivery attempts of one adjustment before it is marked `failed`. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  ADJUSTMENT_MAX_ATTEMPTS = 10;

  /**
   * First retry delay in ms; doubles per attempt, with jitter, up to
   * `ADJUSTMENT_RETRY_MAX_MS`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  ADJUSTMENT_RETRY_BASE_MS = 1000;

  /** Largest retry delay of an adjustment delivery, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  ADJUSTMENT_RETRY_MAX_MS = 60_000;

  /**
   * `POST /adjust-processor` per tenant per sliding minute, counted apart from submits;
   * beyond it `429 RATE_LIMITED`. `0` turns it off.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  ADJUSTMENT_RATE_LIMIT_PER_MINUTE = 120;

  /**
   * One tenant's adjustments not yet delivered (nor failed; in cluster mode: across the
   * cluster); beyond it `429 TOO_MANY_PENDING_ADJUSTMENTS` with `Retry-After`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_PENDING_ADJUSTMENTS_PER_TENANT = 1000;

  /**
   * Hosts a request's `callback_url` may name, comma-separated: names or IP literals, and
   * `*.example.org` for every name below example.org. Empty: callbacks are off, and a
   * request with `callback_url` is refused (`400 CALLBACK_URL_REFUSED`). See
   * [Callbacks](api.md#callbacks).
   */
  @Matches(/^[^\s,]+(\s*,\s*[^\s,]+)*$|^$/, {
    message: 'CALLBACK_ALLOWED_HOSTS must be host names separated by commas',
  })
  CALLBACK_ALLOWED_HOSTS = '';

  /**
   * The Standard Webhooks secret callbacks are signed with, `whsec_` and base64 (24 to
   * 64 random bytes); receivers verify with the same secret. Required when
   * `CALLBACK_ALLOWED_HOSTS` is set.
   */
  @IsOptional()
  @Matches(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, {
    message: 'CALLBACK_SECRET must be whsec_ followed by base64 (at least 24 bytes)',
  })
  CALLBACK_SECRET?: string;

  /**
   * IP addresses or CIDR ranges, comma-separated, a callback may connect to although
   * they are loopback, private, link-local or otherwise not public (`10.1.2.0/24`).
   * Empty: only public addresses.
   */
  @Matches(/^[^\s,]+(\s*,\s*[^\s,]+)*$|^$/, {
    message: 'CALLBACK_ALLOW_PRIVATE must be addresses or CIDR ranges separated by commas',
  })
  CALLBACK_ALLOW_PRIVATE = '';

  /** Whether a `callback_url` may be plain `http`; `false`: https only. */
  @Transform(toFlag)
  @IsBoolean({ message: 'CALLBACK_ALLOW_HTTP must be true or false' })
  CALLBACK_ALLOW_HTTP = false;

  /** Deadline of one callback attempt (resolving, connecting, the answer), in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120_000)
  CALLBACK_TIMEOUT_MS = 10_000;

  /** Delivery attempts of one callback before it is marked `failed`. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  CALLBACK_MAX_ATTEMPTS = 8;

  /**
   * First retry delay of a callback in ms; doubles per attempt, with jitter, up to
   * `CALLBACK_RETRY_MAX_MS`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  CALLBACK_RETRY_BASE_MS = 1000;

  /** Largest retry delay of a callback, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  CALLBACK_RETRY_MAX_MS = 300_000;

  /**
   * Marks this instance's containers. Stable across restarts (the host or pod name by
   * default), so a restarted instance sweeps its own leftovers at start-up, and no one
   * else's.
   * @default the host name
   */
  @Matches(/^[\w.-]{1,64}$/, {
    message: 'SANDBOX_INSTANCE_ID may contain letters, digits, _ . - only',
  })
  SANDBOX_INSTANCE_ID = hostname();

  /**
   * Cluster mode, `redis://host:port`: executions go through a BullMQ queue on this Redis,
   * and records, live output and cancels are shared there, so every instance acts as one
   * service (see [Scaling out](operations.md#scaling-out-cluster-mode)). Unset: one
   * machine, SQLite and an in-process queue.
   */
  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must look like redis://host:port' })
  REDIS_URL?: string;

  /** Prefix of every Redis key this service writes (besides BullMQ's own, under `bull:`). */
  @Matches(/^[\w.:-]{1,64}$/, {
    message: 'REDIS_KEY_PREFIX may contain letters, digits, _ . : - only',
  })
  REDIS_KEY_PREFIX = 'brain-net:';

  /**
   * `api`: takes requests only (HTTP, no Docker engine needed); `worker`: runs executions
   * from the queue; `all`: both. `api` and `worker` need `REDIS_URL`.
   */
  @IsIn(ROLES, { message: `ROLE must be one of ${ROLES.join(', ')}` })
  ROLE: Role = 'all';

  /**
   * Cluster mode: how long a worker that stops answering (killed, cut off) keeps its
   * job; after this and one stalled-job check the job is recorded `failed` ("worker lost").
   */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  WORKER_LOST_AFTER_MS = 15_000;

  /**
   * The Docker engine: `unix:///var/run/docker.sock` or `tcp://host:port`.
   * @default the local socket
   */
  @IsOptional()
  @Matches(/^(unix|tcp|http|https):\/\/.+/, {
    message: 'DOCKER_HOST must look like unix:///path or tcp://host:port',
  })
  DOCKER_HOST?: string;
}
