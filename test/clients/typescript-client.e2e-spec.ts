import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Sandbox, SandboxError, type StreamEvent } from '../../clients/typescript/src';
import { SandboxApp, startSandboxApp } from '../support/sandbox-app';

const LAUNCHER = resolve(__dirname, '..', '..', 'bin', 'brain-net-sandbox.js');
/** A CLI run that hangs is killed well before jest gives up on the spec. */
const CLI_TIMEOUT_MS = 45_000;

interface CliRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI in a process of its own, as `npx brain-net-sandbox` starts it. */
function runCli(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  const child = spawn(process.execPath, [LAUNCHER, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
  return new Promise((resolveRun, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolveRun({ exitCode, stdout, stderr });
    });
  });
}

async function caught(promise: Promise<unknown>): Promise<SandboxError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SandboxError) return error;
    throw error;
  }
  throw new Error('expected a SandboxError');
}

describe('TypeScript client (clients/typescript) against the real service', () => {
  let service: SandboxApp;
  let sandbox: Sandbox;
  let dir: string;

  beforeAll(async () => {
    service = await startSandboxApp({ RATE_LIMIT_PER_MINUTE: '0' });
    sandbox = new Sandbox({ baseUrl: service.url });
    dir = mkdtempSync(join(tmpdir(), 'typescript-client-'));
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await service.close();
    await service.containersSettle();
  });

  it('executes code and returns its output and variables', async () => {
    const result = await sandbox.execute({ code: 'x = 6 * 7\nprint(x)' });

    expect(result.status).toBe('completed');
    expect(result.output).toBe('42\n');
    expect(result.exit_code).toBe(0);
    expect(result.debug_info.variables_after).toMatchObject({ x: { type: 'int', value: 42 } });
  });

  it('returns an exception as a failed result naming its line', async () => {
    const result = await sandbox.execute({ code: 'x = 1\ny = x / 0' });

    expect(result.status).toBe('failed');
    expect(result.error).toBe('ZeroDivisionError: division by zero (line 2)');
    expect(result.exit_code).toBe(1);
  });

  it('polls the same execution when its wait is cut short, never running the code twice', async () => {
    const impatient = new Sandbox({ baseUrl: service.url, waitTimeoutMs: 300 });
    const total = async (): Promise<number> =>
      ((await service.http.get('/executions').expect(200)).body as { total: number }).total;
    const before = await total();

    const result = await impatient.execute({
      code: 'import time\ntime.sleep(1.5)\nprint("done")',
    });

    expect(result).toMatchObject({ status: 'completed', output: 'done\n' });
    expect(await total()).toBe(before + 1);
  });

  it('downloads the files the code wrote under out/ and its figures', async () => {
    const result = await sandbox.execute({
      code: [
        'import os',
        'import matplotlib.pyplot as plt',
        "os.makedirs('out/tables', exist_ok=True)",
        "open('out/tables/summary.csv', 'w').write('n,total\\n3,6\\n')",
        'plt.plot([1, 2, 3])',
      ].join('\n'),
    });
    expect(result.status).toBe('completed');

    const csv = await sandbox.outputFile(result.execution_id, 'tables/summary.csv');
    expect(Buffer.from(csv).toString('utf8')).toBe('n,total\n3,6\n');
    const png = await sandbox.figure(result.execution_id, 0);
    expect(Buffer.from(png.subarray(0, 8))).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    const missing = await caught(sandbox.outputFile(result.execution_id, 'nothing.txt'));
    expect(missing.status).toBe(404);
  });

  it('throws a SandboxError carrying the problem code for a refused request', async () => {
    const unknownRuntime = await caught(
      sandbox.execute({ code: 'print(1)', runtime: 'no-such-runtime' }),
    );
    expect(unknownRuntime).toMatchObject({ status: 400, code: 'UNKNOWN_RUNTIME' });
    expect(unknownRuntime.requestId).toEqual(expect.any(String));

    const unknownId = await caught(sandbox.get('no-such-id'));
    expect(unknownId).toMatchObject({ status: 404, code: 'EXECUTION_NOT_FOUND' });
  });

  it('streams the printed lines in order, then the result', async () => {
    const { execution_id } = await sandbox.submit({
      code: 'import time\nfor n in range(3):\n    print(f"line {n}", flush=True)\n    time.sleep(0.2)',
    });
    const events: StreamEvent[] = [];
    for await (const event of sandbox.stream(execution_id)) events.push(event);

    const printed = events.flatMap((event) =>
      event.type === 'output' && event.stream === 'stdout' ? [event.data] : [],
    );
    expect(printed.join('')).toBe('line 0\nline 1\nline 2\n');
    const last = events[events.length - 1];
    expect(last.type).toBe('result');
    expect(last.type === 'result' && last.result.status).toBe('completed');
  });

  it('runs a batch and returns every result in order', async () => {
    const batch = await sandbox.batch({
      code: 'print(input_data["n"] ** 2)',
      inputs: [{ input_data: { n: 2 } }, { input_data: { n: 3 } }],
    });

    expect(batch.status).toBe('finished');
    expect(batch.items.map((item) => item.output)).toEqual(['4\n', '9\n']);
  });

  it('uploads a CSV the code reads', async () => {
    const uploaded = await sandbox.upload(Buffer.from('region,sales\nnorth,10\n'), 'sales.csv');
    const result = await sandbox.execute({
      code: 'import csv\nprint(list(csv.reader(open("sales.csv"))))',
      files: [{ path: 'sales.csv', file_id: uploaded.file_id }],
    });

    expect(uploaded.name).toBe('sales.csv');
    expect(result.output).toBe("[['region', 'sales'], ['north', '10']]\n");
  });

  it('lists the runtimes', async () => {
    const runtimes = await sandbox.runtimes();

    expect(runtimes.items.map((runtime) => runtime.name)).toContain(runtimes.default);
  });

  it('CLI: prints the output and exits with the script exit code', async () => {
    const script = join(dir, 'two-lines.py');
    writeFileSync(script, 'print("first")\nprint("second")\nraise SystemExit(3)\n');

    const cli = await runCli(['run', script], { SANDBOX_URL: service.url });

    expect(cli.stdout).toBe('first\nsecond\n');
    expect(cli.stderr).toMatch(/^failed: .+\n$/);
    expect(cli.exitCode).toBe(3);
  });

  it('CLI: passes --input as input_data and --file beside the script', async () => {
    const script = join(dir, 'with-data.py');
    writeFileSync(script, 'print(input_data["n"] + 1)\nprint(open("data.csv").read().strip())\n');
    const input = join(dir, 'data.json');
    writeFileSync(input, JSON.stringify({ n: 41 }));
    const data = join(dir, 'data.csv');
    writeFileSync(data, 'a,b\n1,2\n');

    const cli = await runCli(['run', script, '--input', input, '--file', data], {
      SANDBOX_URL: service.url,
    });

    expect(cli).toMatchObject({ exitCode: 0, stdout: '42\na,b\n1,2\n' });
  });
});
