import type { DebugRecordDto } from '../apps/sandbox/src/debug/dto/debug-record.dto';
import { SandboxApp, run, startSandboxApp, startSleeper } from './support/sandbox-app';
import { eventually } from './support/eventually';

/**
 * Containers started ahead of their jobs (SANDBOX_WARM_POOL=2), each used for one job only.
 * A fresh instance warms the whole budget; jobs a few hundred ms apart keep one (warmTarget).
 */
describe('Warm pool of one-use containers', () => {
  let sandbox: SandboxApp;

  /** Waits until at least `count` of the instance's containers are up (warm ones, here). */
  async function poolHas(count: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    while ((await sandbox.containerCount()) < count) {
      if (Date.now() > deadline) throw new Error('the warm pool never filled');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits until the instance holds only warm containers: one at least, the budget at most. */
  async function poolSettles(): Promise<void> {
    await eventually(
      async () => {
        const count = await sandbox.containerCount();
        return count >= 1 && count <= 2 ? true : undefined;
      },
      20_000,
      'the warm pool within its budget',
    );
  }

  async function variablesOf(executionId: string): Promise<DebugRecordDto['variables_after']> {
    const debug = (await sandbox.http.get(`/debug/${executionId}`).expect(200))
      .body as DebugRecordDto;
    return debug.variables_after;
  }

  beforeAll(async () => {
    sandbox = await startSandboxApp({ SANDBOX_WARM_POOL: '2' });
    await poolHas(2);
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('has numpy and pandas imported while it waits (SANDBOX_PRELOAD), invisibly to the code', async () => {
    // A fresh instance warms containers that preload all of SANDBOX_PRELOAD.
    const code = [
      'import os, sys',
      "loaded = sorted(m for m in ('numpy', 'pandas') if m in sys.modules)",
      "told = os.environ.get('SANDBOX_PRELOAD')",
      'import pandas', // waits for the preload if it is still on its way
      'frame = pandas.DataFrame({"a": [1, 2]})',
      'total = int(frame["a"].sum())',
    ].join('\n');
    const warm = await run(sandbox.http, { code });
    expect(warm.status).toBe('completed');
    const variables = await variablesOf(warm.execution_id);
    expect(variables).toMatchObject({
      loaded: { value: ['numpy', 'pandas'] },
      told: { value: null },
      total: { value: 3 },
    });
    expect(Object.keys(variables ?? {}).sort()).toEqual(['frame', 'loaded', 'told', 'total']);

    // Three at once: each gets a container of its own, warm, on its way or cold.
    const burst = await Promise.all([1, 2, 3].map(() => run(sandbox.http, { code })));
    for (const result of burst) {
      expect(await variablesOf(result.execution_id)).toMatchObject({ total: { value: 3 } });
    }
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
    // Refilled at once, within the budget (how many follows the recent rate of jobs).
    await poolSettles();
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
    await poolHas(1);
    // Under the pool's 256 MiB this would complete; under the 64 MiB it asked for it cannot.
    const code = 'data = b"x" * (100 * 1024 * 1024)\nprint(len(data))';
    const small = await run(sandbox.http, { code, memory_mb: 64, debug_mode: false });
    expect(small.status).toBe('failed');
    expect(small.error).toContain('64 MiB');
    const same = await run(sandbox.http, { code, debug_mode: false });
    expect(same).toMatchObject({ status: 'completed', output: `${100 * 1024 * 1024}\n` });
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

    // Past the warm containers prepared before it was compiled: cold and warm containers
    // with the compiled harness report as the source did.
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
    await poolSettles();
  });

  it('times out and cancels warm jobs like cold ones', async () => {
    await poolHas(1);
    const timedOut = await run(sandbox.http, { code: 'while True:\n    pass', timeout: 2 });
    expect(timedOut.status).toBe('timeout');

    const id = await startSleeper(sandbox.http);
    await sandbox.http.delete(`/execution/${id}`).expect(200);
    await poolSettles();
  });
});

/** What a warm container preloads follows what the jobs that take it import (WarmPools). */
describe('Warm containers of the kind their jobs need', () => {
  let sandbox: SandboxApp;
  const probe =
    "import sys\nfirst = sorted(m for m in ('numpy', 'pandas') if m in sys.modules)\nprint(first)";

  beforeAll(async () => {
    sandbox = await startSandboxApp({ SANDBOX_WARM_POOL: '1' });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('keeps a bare container for jobs that import nothing, and one preloading pandas once such jobs lead', async () => {
    await run(sandbox.http, { code: probe });
    // The one container kept now is for jobs like that one: it preloads nothing.
    await sandbox.containersSettle(1);
    expect(await run(sandbox.http, { code: probe })).toMatchObject({ output: '[]\n' });

    const pandasJob = `${probe}\nimport pandas`;
    for (let i = 0; i < 3; i += 1) await run(sandbox.http, { code: pandasJob });
    // Three of these against two: the container kept preloads pandas (and numpy with it).
    await sandbox.containersSettle(1);
    expect(await run(sandbox.http, { code: pandasJob })).toMatchObject({
      output: "['numpy', 'pandas']\n",
    });
  });

  it('replaces a ready container a job took only once the job is answered, never beside it', async () => {
    await sandbox.containersSettle(1);
    const id = await startSleeper(sandbox.http);
    // While the job runs, its container is the instance's only one: no preparation competes.
    for (let i = 0; i < 10; i += 1) {
      expect(await sandbox.containerCount()).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await sandbox.http.delete(`/execution/${id}`).expect(200);
    await sandbox.containersSettle(1);
  });
});
