import { InvalidConfigError, loadConfig } from './app-config';

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

  it('caps the default timeout at MAX_TIMEOUT', () => {
    expect(loadConfig({ EXECUTION_TIMEOUT: '900', MAX_TIMEOUT: '120' }).defaultTimeoutS).toBe(120);
  });
});
