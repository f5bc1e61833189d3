import type { SandboxJob } from '@brain-net/runner';
import type { DebugRecordDto } from '../../apps/sandbox/src/debug/dto/debug-record.dto';
import { ScriptedSandboxApp, run, startScriptedSandboxApp } from '../support/sandbox-app';

const MIB = 1024 * 1024;

/** `stdin`, `memory_mb`, `cpus` and `pids` of POST /execute, from the body to the runner. */
describe('stdin and per-request limits over HTTP (scripted runner)', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp({ MAX_STDIN_BYTES: '1024' });
  });

  afterAll(() => sandbox.close());

  function jobOf(id: string): SandboxJob {
    const job = sandbox.runner.jobs.find((candidate) => candidate.jobId === id);
    if (!job) throw new Error(`the runner got no job ${id}`);
    return job;
  }

  async function debugOf(id: string): Promise<DebugRecordDto> {
    return (await sandbox.http.get(`/debug/${id}`).expect(200)).body as DebugRecordDto;
  }

  it('gives the container exactly the limits asked for and the code its stdin; the debug record shows both', async () => {
    const stdin = 'first\nsecond, é€\n';
    const result = await run(sandbox.http, {
      code: 'print(input())',
      stdin,
      memory_mb: 64,
      cpus: 0.5,
      pids: 32,
    });

    const job = jobOf(result.execution_id);
    expect(job.limits).toMatchObject({ memoryBytes: 64 * MIB, cpus: 0.5, pids: 32 });
    // The rest as configured.
    expect(job.limits).toMatchObject({ tmpfsBytes: 64 * MIB, user: '10001:10001' });
    expect(job.payload.stdin).toBe(stdin);
    const debug = await debugOf(result.execution_id);
    expect(debug.limits).toMatchObject({ memory_mb: 64, cpus: 0.5, pids: 32, tmpfs_mb: 64 });
    expect(debug.stdin).toBe(stdin);
  });

  it('runs a request without them with the configured limits and an empty stdin', async () => {
    const result = await run(sandbox.http, { code: 'pass' });

    const job = jobOf(result.execution_id);
    expect(job.limits).toMatchObject({ memoryBytes: 256 * MIB, cpus: 1, pids: 64 });
    expect(job.payload).not.toHaveProperty('stdin');
    const debug = await debugOf(result.execution_id);
    expect(debug.limits).toMatchObject({ memory_mb: 256, cpus: 1, pids: 64 });
    expect(debug.stdin).toBeNull();
  });

  it('takes null for any of them as not given', async () => {
    const result = await run(sandbox.http, {
      code: 'pass',
      stdin: null,
      memory_mb: null,
      cpus: null,
      pids: null,
    });

    const job = jobOf(result.execution_id);
    expect(job.limits).toMatchObject({ memoryBytes: 256 * MIB, cpus: 1, pids: 64 });
    expect(job.payload).not.toHaveProperty('stdin');
  });

  it('takes stdin of exactly MAX_STDIN_BYTES in UTF-8 bytes, and a limit at its maximum', async () => {
    // 512 characters, 1024 bytes.
    const result = await run(sandbox.http, {
      code: 'pass',
      stdin: 'é'.repeat(512),
      memory_mb: 1024,
      cpus: 2,
      pids: 256,
    });

    expect(result.status).toBe('completed');
    expect(jobOf(result.execution_id).payload.stdin).toBe('é'.repeat(512));
    expect(jobOf(result.execution_id).limits).toMatchObject({
      memoryBytes: 1024 * MIB,
      cpus: 2,
      pids: 256,
    });
  });
});
