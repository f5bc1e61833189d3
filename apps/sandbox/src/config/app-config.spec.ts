import {
  IsOptional,
  IsString,
  Validate,
  ValidatorConstraint,
  ValidatorConstraintInterface,
  getMetadataStorage,
} from 'class-validator';
import { InvalidConfigError, loadConfig } from './app-config';
import { EnvironmentVariables } from './environment-variables';

describe('loadConfig', () => {
  it('uses the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8001,
      defaultTimeoutS: 60,
      maxConcurrentExecutions: 10,
      sandboxImage: 'brain-net-sandbox-runtime:3.11',
      maxOutputBytes: 1024 * 1024,
      dockerHost: undefined,
    });
    expect(config.limits).toMatchObject({
      memoryBytes: 256 * 1024 * 1024,
      cpus: 1,
      pids: 64,
      user: '10001:10001',
    });
  });

  it('reads numbers from strings', () => {
    const config = loadConfig({ SANDBOX_CPUS: '0.5', SANDBOX_MEMORY_MB: '512', PORT: '9000' });
    expect(config.limits.cpus).toBe(0.5);
    expect(config.limits.memoryBytes).toBe(512 * 1024 * 1024);
    expect(config.port).toBe(9000);
  });

  it('allows requests a few times the default limits and 1 MiB of stdin unless told otherwise', () => {
    expect(loadConfig({}).maxLimits).toEqual({ memoryMb: 1024, cpus: 2, pids: 256 });
    expect(loadConfig({}).maxStdinBytes).toBe(1024 * 1024);
    // Derived from the defaults: raising a default raises its maximum with it.
    expect(
      loadConfig({ SANDBOX_MEMORY_MB: '2048', SANDBOX_CPUS: '4', SANDBOX_PIDS: '100' }).maxLimits,
    ).toEqual({ memoryMb: 8192, cpus: 8, pids: 400 });
    expect(
      loadConfig({ MAX_MEMORY_MB: '512', MAX_CPUS: '1.5', MAX_PIDS: '64', MAX_STDIN_BYTES: '0' }),
    ).toMatchObject({ maxLimits: { memoryMb: 512, cpus: 1.5, pids: 64 }, maxStdinBytes: 0 });
  });

  it('refuses a maximum below the default it bounds, naming both', () => {
    const load = () =>
      loadConfig({
        SANDBOX_MEMORY_MB: '512',
        MAX_MEMORY_MB: '256',
        MAX_CPUS: '0.5',
        MAX_PIDS: '8',
      });
    expect(load).toThrow(/MAX_MEMORY_MB="256": must not be below SANDBOX_MEMORY_MB \(512\)/);
    expect(load).toThrow(/MAX_CPUS="0.5": must not be below SANDBOX_CPUS \(1\)/);
    expect(load).toThrow(/MAX_PIDS="8": must not be below SANDBOX_PIDS \(64\)/);
    expect(() => loadConfig({ MAX_MEMORY_MB: 'lots', MAX_STDIN_BYTES: '-1' })).toThrow(
      /MAX_MEMORY_MB="lots".*\n.*MAX_STDIN_BYTES="-1"/,
    );
  });

  it('turns callbacks on with allowed hosts and a secret, and refuses hosts without one', () => {
    expect(loadConfig({}).callbacks).toMatchObject({ allowedHosts: [], secret: null });
    const secret = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
    const on = loadConfig({
      CALLBACK_ALLOWED_HOSTS: 'hooks.example.org, *.example.net',
      CALLBACK_SECRET: secret,
      CALLBACK_ALLOW_PRIVATE: '10.0.0.0/8',
      CALLBACK_MAX_ATTEMPTS: '3',
    }).callbacks;
    expect(on).toMatchObject({
      allowedHosts: ['hooks.example.org', '*.example.net'],
      secret,
      allowPrivateAddresses: ['10.0.0.0/8'],
      allowHttp: false,
      timeoutMs: 10_000,
      delivery: { maxAttempts: 3, retryBaseMs: 1000, retryMaxMs: 300_000 },
    });
    expect(() => loadConfig({ CALLBACK_ALLOWED_HOSTS: 'hooks.example.org' })).toThrow(
      /CALLBACK_SECRET: required when CALLBACK_ALLOWED_HOSTS is set/,
    );
    expect(() =>
      loadConfig({ CALLBACK_ALLOWED_HOSTS: 'a.example.org', CALLBACK_SECRET: 'not-whsec' }),
    ).toThrow(/CALLBACK_SECRET must be whsec_/);
    expect(() =>
      loadConfig({ CALLBACK_SECRET: secret, CALLBACK_ALLOW_PRIVATE: '10.0.0.0/99' }),
    ).toThrow(/CALLBACK_ALLOW_PRIVATE: allowPrivateAddresses: "10.0.0.0\/99"/);
  });

  it('reads the file settings in bytes, and refuses input files that cannot fit /tmp', () => {
    expect(loadConfig({ MAX_INPUT_FILES_MB: '8', FILE_RETENTION_HOURS: '2' }).files).toMatchObject({
      maxInputBytes: 8 * 1024 * 1024,
      retentionMs: 2 * 3_600_000,
      maxOutputFiles: 20,
    });
    expect(() => loadConfig({ SANDBOX_TMPFS_MB: '16', MAX_INPUT_FILES_MB: '32' })).toThrow(
      /MAX_INPUT_FILES_MB="32": must not exceed SANDBOX_TMPFS_MB \(16\)/,
    );
  });

  it('names every bad variable', () => {
    const load = () =>
      loadConfig({ SANDBOX_MEMORY_MB: 'lots', MAX_CONCURRENT_EXECUTIONS: '0', LOG_LEVEL: 'loud' });
    expect(load).toThrow(InvalidConfigError);
    expect(load).toThrow(/SANDBOX_MEMORY_MB="lots"/);
    expect(load).toThrow(/MAX_CONCURRENT_EXECUTIONS="0"/);
    expect(load).toThrow(/LOG_LEVEL="loud"/);
  });

  it.each([
    ['INFO', 'info'],
    ['debug', 'debug'],
    ['WARNING', 'warn'],
    ['Error', 'error'],
    ['CRITICAL', 'fatal'],
    ['trace', 'trace'],
  ])("accepts the seed's LOG_LEVEL %s as %s", (given, level) => {
    expect(loadConfig({ LOG_LEVEL: given }).logLevel).toBe(level);
  });

  it('refuses to run sandboxes as root', () => {
    expect(() => loadConfig({ SANDBOX_USER: '0:0' })).toThrow(/SANDBOX_USER must not be root/);
  });

  it('takes PUBLIC_URL with a path prefix, without its trailing slash, and refuses what is not one', () => {
    expect(loadConfig({}).publicUrl).toBeNull();
    expect(loadConfig({ PUBLIC_URL: 'https://sandbox.example.org/sandbox/' }).publicUrl).toBe(
      'https://sandbox.example.org/sandbox',
    );
    expect(loadConfig({ PUBLIC_URL: 'http://127.0.0.1:8001' }).publicUrl).toBe(
      'http://127.0.0.1:8001',
    );
    for (const bad of [
      'sandbox.example.org',
      'ftp://sandbox.example.org',
      'https://h/?a=1',
      'https://h/#x',
    ]) {
      expect(() => loadConfig({ PUBLIC_URL: bad })).toThrow(
        /PUBLIC_URL must be an http or https URL/,
      );
    }
  });

  it('caps the default timeout at MAX_TIMEOUT', () => {
    expect(loadConfig({ EXECUTION_TIMEOUT: '900', MAX_TIMEOUT: '120' }).defaultTimeoutS).toBe(120);
  });
});

describe('loadConfig: SANDBOX_USER is parsed, never root', () => {
  it.each([
    '0',
    '00',
    '000:10001',
    'root',
    'root:root',
    '0:0',
    '10001:0',
    '10001:root',
    'root:10001',
  ])('refuses %s, which gives uid or gid 0', (user) => {
    expect(() => loadConfig({ SANDBOX_USER: user })).toThrow(/SANDBOX_USER must not be root/);
  });

  it.each(['sandbox', 'sandbox:sandbox', '10001:nogroup', 'toor:10001'])(
    'refuses the name in %s: it cannot be resolved here and could stand for root',
    (user) => {
      expect(() => loadConfig({ SANDBOX_USER: user })).toThrow(
        /SANDBOX_USER must be numeric .*no passwd entries/,
      );
    },
  );

  it.each([
    '10001:10001:1',
    ':10001',
    '10001:',
    '-1',
    '+10001',
    '1e4',
    ' 10001',
    '0x2711',
    '4294967295',
  ])('refuses %s, which is not uid or uid:gid', (user) => {
    expect(() => loadConfig({ SANDBOX_USER: user })).toThrow(/SANDBOX_USER="/);
  });

  it.each([
    ['10001:10001', '10001:10001'],
    ['10001:20002', '10001:20002'],
    // A uid alone gets its own number as gid, not the engine's fallback gid 0.
    ['10001', '10001:10001'],
    ['010001', '10001:10001'],
  ])('accepts %s and runs jobs as %s', (user, applied) => {
    expect(loadConfig({ SANDBOX_USER: user }).limits.user).toBe(applied);
  });
});

describe('loadConfig: SANDBOX_RUNTIME', () => {
  it("leaves the runtime to the engine's default when unset or empty", () => {
    expect(loadConfig({}).limits.runtime).toBeUndefined();
    expect(loadConfig({ SANDBOX_RUNTIME: '' }).limits.runtime).toBeUndefined();
  });

  it('puts the runtime into the container limits', () => {
    expect(loadConfig({ SANDBOX_RUNTIME: 'runsc' }).limits).toMatchObject({
      runtime: 'runsc',
      pids: 64,
    });
  });

  it('refuses what cannot be a runtime name', () => {
    expect(() => loadConfig({ SANDBOX_RUNTIME: 'run sc;rm' })).toThrow(/SANDBOX_RUNTIME=/);
  });
});

describe('loadConfig: PROCESSOR_FETCH_WITH_SERVICE_TOKEN', () => {
  it('fetches processors with the service token by default', () => {
    expect(loadConfig({}).processorFetchWithServiceToken).toBe(true);
  });

  it.each([
    ['false', false],
    ['0', false],
    ['TRUE', true],
  ])('reads %s as %s', (given, flag) => {
    expect(
      loadConfig({ PROCESSOR_FETCH_WITH_SERVICE_TOKEN: given }).processorFetchWithServiceToken,
    ).toBe(flag);
  });

  it('refuses what is not a flag', () => {
    expect(() => loadConfig({ PROCESSOR_FETCH_WITH_SERVICE_TOKEN: 'sometimes' })).toThrow(
      /PROCESSOR_FETCH_WITH_SERVICE_TOKEN must be true or false/,
    );
  });
});

describe('loadConfig: MAX_CONCURRENT_UPLOADS_PER_TENANT', () => {
  const keys = { AUTH_MODE: 'api-key', API_KEYS_FILE: '/run/keys.json' };

  it('gives each tenant a quarter of the upload slots when callers are told apart', () => {
    expect(loadConfig(keys).maxConcurrentUploadsPerTenant).toBe(8);
    expect(loadConfig({ ...keys, MAX_CONCURRENT_UPLOADS: '2' }).maxConcurrentUploadsPerTenant).toBe(
      1,
    );
  });

  it('gives the one tenant of AUTH_MODE=none every slot', () => {
    expect(loadConfig({}).maxConcurrentUploadsPerTenant).toBe(32);
  });

  it('takes the setting as given', () => {
    expect(
      loadConfig({ ...keys, MAX_CONCURRENT_UPLOADS_PER_TENANT: '3' }).maxConcurrentUploadsPerTenant,
    ).toBe(3);
  });
});

describe('loadConfig reads every variable EnvironmentVariables validates, with no list to keep', () => {
  const SENTINEL = '424242';

  /** Refuses the sentinel in whatever form a variable takes it: its arrival shows as an error. */
  @ValidatorConstraint({ name: 'notSentinel' })
  class NotSentinel implements ValidatorConstraintInterface {
    validate(value: unknown): boolean {
      return !String(value).includes(SENTINEL);
    }
  }

  // These decorators apply to the class for the whole file; no other test sets the sentinel.
  // A variable added later, optional and without a default: no key on an instance.
  IsOptional()(EnvironmentVariables.prototype, 'ADDED_LATER');
  IsString()(EnvironmentVariables.prototype, 'ADDED_LATER');

  const names = getMetadataStorage()
    .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
    .map((metadata) => metadata.propertyName);
  const validated = [...new Set(names)];
  for (const name of validated) Validate(NotSentinel)(EnvironmentVariables.prototype, name);

  it('validates every setting that has a default (an unvalidated one would not be read)', () => {
    expect(validated).toEqual(expect.arrayContaining(Object.keys(new EnvironmentVariables())));
  });

  it.each(validated)('reads %s from the environment', (name) => {
    expect(() => loadConfig({ [name]: SENTINEL })).toThrow(`${name}="${SENTINEL}"`);
  });
});
