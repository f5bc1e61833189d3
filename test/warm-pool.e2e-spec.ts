import type { DebugRecordDto } from '../apps/sandbox/src/debug/dto/debug-record.dto';
import { SandboxApp, run, startSandboxApp, startSleeper } from './support/sandbox-app';
import { eventually } from './support/eventually';

/** Containers started ahead of their jobs (SANDBOX_WARM_POOL=2), each used for one job only. */
describe('Warm pool of one-use containers', () => {
  let sandbox: SandboxApp;

  async function poolFilled(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while ((await sandbox.containerCount()) < 2) {
      if (Date.now() > deadline) throw new Error('the warm pool never filled');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    sandbox = await startSandboxApp({ SANDBOX_WARM_POOL: '2' });
    await poolFilled();
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('gives every job a container no other job has used, and refills behind it', async () => {
    const hostnames: string[] = [];
    for (let i = 0; i < 4; i++) {
      // "x" fails if the file exists: a reused container would fail the job.
      const result = await run(sandbox.http, {
        code: 'import socket\nprint(socket.gethostname())\nopen("/tmp/mark", "x").write("used")',
      });
      expect(result.status).toBe('completed');
      hostnames.push(result.output.trim());
    }
    expect(new Set(hostnames).size).toBe(4);
    await poolFilled();
    await sandbox.containersSettle(2);
  });

  it('runs a warm job under the same limits', async () => {
    const code = [
      'import os, socket',
      'uid = os.getuid()',
      'interfaces = sorted(name for _, name in socket.if_nameindex())',
      'status = open("/proc/self/status").read()',
      'no_new_privs = "NoNewPrivs:\\t1" in status',
    ].join('\n');
    const result = await run(sandbox.http, { code });
    const debug = (await sandbox.http.get(`/debug/${result.execution_id}`).expect(200))
      .body as DebugRecordDto;
    expect(debug.variables_after).toMatchObject({
      uid: { value: 10001 },
      interfaces: { value: ['lo'] },
      no_new_privs: { value: true },
    });
    expect(debug.limits).toMatchObject({ memory_mb: 256, pids: 64, network: 'none' });
  });

  it('gives a job that asks for other limits a container of exactly those limits, not a warm one', async () => {
    await poolFilled();
    // Under the pool's 256 MiB this would complete; under the 64 MiB it asked for it cannot.
    const code = 'data = b"x" * (100 * 1024 * 1024)\nprint(len(data))';
    const small = await run(sandbox.http, { code, memory_mb: 64, debug_mode: false });
    expect(small.status).toBe('failed');
    expect(small.error).toContain('64 MiB');
    const same = await run(sandbox.http, { code, debug_mode: false });
    expect(same).toMatchObject({ status: 'completed', output: `${100 * 1024 * 1024}\n` });
    await poolFilled();
  });

  it('has numpy and pandas imported while it waits (SANDBOX_PRELOAD), invisibly to the code', async () => {
    await poolFilled();
    const code = [
      'import os, sys',
      "loaded = sorted(m for m in ('numpy', 'pandas') if m in sys.modules)",
      "told = os.environ.get('SANDBOX_PRELOAD')",
      'import pandas',
      'frame = pandas.DataFrame({"a": [1, 2]})',
      'total = int(frame["a"].sum())',
    ].join('\n');
    const warm = await run(sandbox.http, { code });
    expect(warm.status).toBe('completed');
    const debug = (await sandbox.http.get(`/debug/${warm.execution_id}`).expect(200))
      .body as DebugRecordDto;
    expect(debug.variables_after).toMatchObject({
      loaded: { value: ['numpy', 'pandas'] },
      told: { value: null },
      total: { value: 3 },
    });
    expect(Object.keys(debug.variables_after ?? {}).sort()).toEqual([
      'frame',
      'loaded',
      'told',
      'total',
    ]);

    // Three jobs at once on a pool of two: the third gets a cold container, which
    // imports nothing ahead.
    await poolFilled();
    await new Promise((resolve) => setTimeout(resolve, 1000)); // both started
    const burst = await Promise.all([1, 2, 3].map(() => run(sandbox.http, { code })));
    const loaded = await Promise.all(
      burst.map(async (result) => {
        const record = (await sandbox.http.get(`/debug/${result.execution_id}`).expect(200))
          .body as DebugRecordDto;
        expect(record.variables_after).toMatchObject({ total: { value: 3 } });
        return JSON.stringify(record.variables_after?.loaded?.value);
      }),
    );
    expect(loaded.sort()).toEqual(['["numpy","pandas"]', '["numpy","pandas"]', '[]']);
  });

  it('sends containers the harness compiled once by the image’s own Python', async () => {
    const harness = await eventually(
      async () => {
        const health = (await sandbox.http.get('/health/ready').expect(200)).body as {
          details: { runtime_image: { harness: string } };
        };
        const { harness } = health.details.runtime_image;
        return harness === 'source' ? undefined : harness;
      },
      20_000,
      'the compiled harness',
    );
    expect(harness).toMatch(/^compiled by Python 3\.11\.\d+$/);

    // Past the two warm containers prepared before it was compiled: cold and warm
    // containers with the compiled harness report as the source did.
    for (let i = 0; i < 4; i++) {
      const result = await run(sandbox.http, {
        code: 'import sys\nprint(sys.argv, __name__)\n\ndef f():\n    return 1 / 0\n\nf()',
      });
      expect(result).toMatchObject({
        status: 'failed',
        output: "['main.py'] __main__\n",
        error: 'ZeroDivisionError: division by zero (line 5)',
      });
      expect(result.stderr).toContain('File "main.py", line 5, in f');
    }
    await poolFilled();
    await sandbox.containersSettle(2);
  });

  it('times out and cancels warm jobs like cold ones', async () => {
    await poolFilled();
    const timedOut = await run(sandbox.http, { code: 'while True:\n    pass', timeout: 2 });
    expect(timedOut.status).toBe('timeout');

    const id = await startSleeper(sandbox.http);
    await sandbox.http.delete(`/execution/${id}`).expect(200);
    await poolFilled();
    await sandbox.containersSettle(2);
  });
});
