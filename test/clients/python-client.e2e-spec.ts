import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { keyEntry, writeKeysFile } from '../support/api-keys';
import { ServiceProcess } from '../support/separate-service';

const CLIENT_DIR = resolve(__dirname, '..', '..', 'clients', 'python');
/** The client's suite takes about 10 s here; a hung one is killed well before jest gives up. */
const SUITE_TIMEOUT_MS = 150_000;
const SPEC_TIMEOUT_MS = 240_000;

interface SuiteRun {
  exitCode: number | null;
  /** unittest's verbose report: one line per test, the tracebacks, the summary. */
  report: string;
}

/** `python3 -m unittest` over clients/python/tests, with `env` (SANDBOX_URL, SANDBOX_API_KEY). */
function runClientSuite(env: Record<string, string>): Promise<SuiteRun> {
  // Only what this spec sets reaches the suite: no SANDBOX_* of the caller's shell.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('SANDBOX_')),
  );
  const child = spawn('python3', ['-m', 'unittest', 'discover', '-v', '-s', 'tests', '-t', '.'], {
    cwd: CLIENT_DIR,
    // No __pycache__ left in the work tree.
    env: { ...inherited, PYTHONDONTWRITEBYTECODE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let report = '';
  const collect = (chunk: Buffer): void => {
    report += chunk.toString('utf8');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const timer = setTimeout(() => child.kill('SIGKILL'), SUITE_TIMEOUT_MS);
  return new Promise((resolveRun, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolveRun({ exitCode, report });
    });
  });
}

/** The suite passed: exit 0 (else its whole report is the failure) and some test ran. */
function expectPassed(run: SuiteRun): void {
  if (run.exitCode !== 0) {
    throw new Error(`the Python client's tests failed (exit ${run.exitCode}):\n${run.report}`);
  }
  expect(run.report).toMatch(/^Ran [1-9]\d* tests? in /m);
}

function skippedTests(report: string): string[] {
  return report.split('\n').filter((line) => / \.\.\. skipped /.test(line));
}

/**
 * The Python client (clients/python) against the compiled service in a process of its own:
 * its unittest suite, once without authentication and once with an API key.
 */
describe('Python client (clients/python) against the compiled service', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'python-client-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** The service with its records in a folder of this run, sweeping only its own containers. */
  function startService(name: string, env: Record<string, string>): Promise<ServiceProcess> {
    const dataDir = join(dir, name);
    mkdirSync(dataDir);
    return ServiceProcess.startCompiled({
      ...env,
      DATABASE_PATH: join(dataDir, 'sandbox.db'),
      SANDBOX_INSTANCE_ID: `python-client-${name}-${randomUUID().slice(0, 8)}`,
      RATE_LIMIT_PER_MINUTE: '0',
      SANDBOX_WARM_POOL: '0',
    });
  }

  it(
    'passes its suite without authentication, skipping only the tests of API keys',
    async () => {
      const service = await startService('open', { AUTH_MODE: 'none' });
      let run: SuiteRun;
      try {
        run = await runClientSuite({ SANDBOX_URL: service.url });
      } finally {
        await service.stop();
      }

      expectPassed(run);
      const skipped = skippedTests(run.report);
      expect(skipped.length).toBeGreaterThan(0);
      expect(skipped.filter((line) => !line.includes('(tests.test_auth.'))).toEqual([]);
    },
    SPEC_TIMEOUT_MS,
  );

  it(
    'passes its whole suite with an API key, whose absence is refused',
    async () => {
      const key = randomBytes(32).toString('hex');
      const keyFile = writeKeysFile(dir, [
        keyEntry('python-client', key, 'python-client', ['execute', 'read']),
      ]);
      const service = await startService('keys', {
        AUTH_MODE: 'api-key',
        API_KEYS_FILE: keyFile,
      });
      let run: SuiteRun;
      try {
        run = await runClientSuite({ SANDBOX_URL: service.url, SANDBOX_API_KEY: key });
      } finally {
        await service.stop();
      }

      expectPassed(run);
      expect(skippedTests(run.report)).toEqual([]);
      expect(run.report).toMatch(/^test_a_call_without_a_key_is_refused .* \.\.\. ok$/m);
    },
    SPEC_TIMEOUT_MS,
  );
});
