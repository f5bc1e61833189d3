import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import { SandboxApp, run, startSandboxApp } from '../support/sandbox-app';

/** Finds the worker's result pipe (the one fd that is a pipe besides 1 and 2) and writes to it. */
const FORGE_RESULT = `
import os
for fd in range(3, 64):
    try:
        if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            os.write(fd, b'{"duration_ms": 1, "exceptions": "x", "variables_after": []}')
    except OSError:
        pass
print("forged", flush=True)
os._exit(0)
`;

describe('The result channel is bounded and validated', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp();
  });
  afterAll(() => sandbox.close());

  it('delivers a result whose globals hold eight 1 MB keys, cut to size', async () => {
    const result = await run(sandbox.http, {
      code: "d = {('k' * 1_000_000) + str(i): i for i in range(8)}\nprint('done')",
      debug_mode: true,
    });
    expect(result).toMatchObject({ status: 'completed', exit_code: 0, output: 'done\n' });
    const d = result.debug_info.variables_after?.d;
    expect(d).toMatchObject({ type: 'dict', truncated: true });
    expect(JSON.stringify(d).length).toBeLessThan(1024 * 1024);
  });

  it('delivers a 6 MB exception message, cut, with the output before it', async () => {
    const result = await run(sandbox.http, {
      code: "print('before')\nraise ValueError('m' * 6_000_000)",
    });
    expect(result).toMatchObject({ status: 'failed', exit_code: 1, output: 'before\n' });
    const [raised] = result.debug_info.exceptions;
    expect(raised).toMatchObject({ type: 'ValueError', line: 2 });
    expect(raised.message.length).toBeLessThan(100_000);
    expect(raised.message.startsWith('mmmm')).toBe(true);
    expect(result.error).toContain('ValueError');
  });

  it('reports a result forged on the worker pipe as a harness error, never as user data', async () => {
    const result = await run(sandbox.http, { code: FORGE_RESULT });
    expect(result.status).toBe('failed');
    expect(result.output).toBe('forged\n');
    expect(result.error).toMatch(/harness/i);
    expect(result.error).toContain('exceptions');
    expect(result.debug_info.exceptions).toEqual([]);
    expect(result.debug_info.variables_after).toBeNull();
  });

  it('keeps the harness running when the code sends SIGINT to PID 1', async () => {
    const result = await run(sandbox.http, {
      code: "import os, signal\nos.kill(1, signal.SIGINT)\nimport time\ntime.sleep(0.2)\nprint('still here')",
    });
    expect(result).toMatchObject({ status: 'completed', output: 'still here\n', exit_code: 0 });
  });

  it('records a job that ends just before its deadline as finished, not timeout', async () => {
    const result: ExecutionResultDto = await run(sandbox.http, {
      code: "import time\ntime.sleep(1.7)\nprint('in time')",
      timeout: 2,
    });
    expect(result).toMatchObject({ status: 'completed', output: 'in time\n', exit_code: 0 });
  });

  it('runs the next job normally', async () => {
    expect((await run(sandbox.http, { code: 'print(6 * 7)' })).output).toBe('42\n');
  });
});
