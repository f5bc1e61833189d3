import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebugRecordDto } from '../apps/sandbox/src/debug/dto/debug-record.dto';
import type { ExecutionResultDto } from '../apps/sandbox/src/execution/dto/execution-result.dto';
import { readEventStream } from './support/event-stream';
import { SandboxApp, pollUntil, run, startSandboxApp } from './support/sandbox-app';

describe('Debug records and live output', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp();
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  async function debugOf(id: string): Promise<DebugRecordDto> {
    return (await sandbox.http.get(`/debug/${id}`).expect(200)).body as DebugRecordDto;
  }

  it('shows everything about a failed run: variables, exception, streams, limits, timings, usage', async () => {
    const code = [
      'import sys',
      'data = [1, 2, 3]',
      'print("working")',
      'print("careful", file=sys.stderr)',
      'def parse(text):',
      '    return int(text)',
      'try:',
      '    parse("x")',
      'except ValueError as e:',
      '    raise KeyError("lookup") from e',
    ].join('\n');
    const result = await run(sandbox.http, { code, timeout: 20, processor_id: 'p-1' });
    const debug = await debugOf(result.execution_id);

    expect(debug).toMatchObject({
      execution_id: result.execution_id,
      status: 'failed',
      processor_id: 'p-1',
      code,
      exit_code: 1,
      oom_killed: false,
      stdout: 'working\n',
      truncated: { stdout: false, stderr: false },
      limits: {
        memory_mb: 256,
        cpus: 1,
        pids: 64,
        timeout_s: 20,
        network: 'none',
        user: '10001:10001',
        read_only_root: true,
      },
    });
    expect(debug.stderr).toMatch(/^careful\n[\s\S]*KeyError: 'lookup'\n$/);
    expect(debug.variables_after?.data).toEqual({
      type: 'list',
      value: [1, 2, 3],
      truncated: false,
    });
    expect(debug.exceptions[0]).toMatchObject({
      type: 'KeyError',
      line: 10,
      cause_relation: 'cause',
    });
    expect(debug.exceptions[0].cause).toMatchObject({ type: 'ValueError', line: 6 });
    expect(debug.exceptions[0].cause?.frames.at(-1)).toEqual({
      file: 'main.py',
      line: 6,
      function: 'parse',
      source: 'return int(text)',
    });

    const timings = debug.timings_ms;
    expect(timings?.container_start_ms).toBeGreaterThan(0);
    expect(timings?.run_ms).toBeGreaterThan(0);
    expect(timings?.total_ms).toBeGreaterThanOrEqual(
      (timings?.queued_ms ?? 0) + (timings?.container_start_ms ?? 0) + (timings?.run_ms ?? 0) - 5,
    );
    expect(timings?.code_ms).toBeGreaterThanOrEqual(0);
    expect(debug.resource_usage?.peak_memory_bytes).toBeGreaterThan(1024 * 1024);
    expect(debug.resource_usage?.cpu_time_ms).toBeGreaterThan(0);
    expect(debug.image_id).toMatch(/^sha256:/);
  });

  it('shows the settings the run had, not those of the service that reads the record', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'sandbox-debug-'));
    const databasePath = join(directory, 'sandbox.db');
    try {
      const first = await startSandboxApp({
        DATABASE_PATH: databasePath,
        MAX_OUTPUT_BYTES: '2048',
      });
      const result = await run(first.http, { code: 'print("x" * 5000)' });
      await first.close();
      await first.containersSettle();
      expect(result.output).toHaveLength(2048);

      // Restarted with another cap: the record still says what capped this run.
      const second = await startSandboxApp({
        DATABASE_PATH: databasePath,
        MAX_OUTPUT_BYTES: '4096',
      });
      try {
        const debug = (await second.http.get(`/debug/${result.execution_id}`).expect(200))
          .body as DebugRecordDto;
        expect(debug.truncated.stdout).toBe(true);
        expect(debug.limits).toMatchObject({
          max_output_bytes: 2048,
          network: 'none',
          read_only_root: true,
        });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('captures exceptions but not variables without debug_mode', async () => {
    const result = await run(sandbox.http, { code: 'x = 5\nx / 0', debug_mode: false });
    const debug = await debugOf(result.execution_id);
    expect(debug.debug_mode).toBe(false);
    expect(debug.variables_after).toBeNull();
    expect(debug.exceptions[0]).toMatchObject({ type: 'ZeroDivisionError', line: 2 });
  });

  it('flags an OOM kill', async () => {
    const result = await run(sandbox.http, {
      code: 'hog = []\nwhile True:\n    hog.append(b"x" * 10_000_000)',
    });
    const debug = await debugOf(result.execution_id);
    expect(debug.oom_killed).toBe(true);
    expect(debug.status).toBe('failed');
  });

  it('streams output as it is produced, status changes, and a final result', async () => {
    const code = [
      'import sys, time',
      'print("first", flush=True)',
      'time.sleep(1.5)',
      'print("oops", file=sys.stderr, flush=True)',
      'print("second")',
    ].join('\n');
    const accepted = await sandbox.http.post('/execute').send({ code }).expect(202);
    const id = (accepted.body as { execution_id: string }).execution_id;

    const events = await readEventStream(`${sandbox.url}/execution/${id}/stream`);

    const outputs = events.filter((e) => e.event === 'output');
    const text = (stream: string) =>
      outputs
        .map((e) => e.data as { stream: string; data: string })
        .filter((d) => d.stream === stream)
        .map((d) => d.data)
        .join('');
    expect(text('stdout')).toBe('first\nsecond\n');
    expect(text('stderr')).toBe('oops\n');

    const statuses = events
      .filter((e) => e.event === 'status')
      .map((e) => (e.data as { status: string }).status);
    expect(statuses.at(-1)).toBe('completed');

    const last = events.at(-1);
    expect(last?.event).toBe('result');
    expect(last?.data).toMatchObject({
      execution_id: id,
      status: 'completed',
      output: 'first\nsecond\n',
    });

    // "first" was delivered live, well before the end, not in one dump at the close.
    const firstAt = outputs.find((e) =>
      (e.data as { data: string }).data.includes('first'),
    )?.receivedAt;
    expect((last?.receivedAt ?? 0) - (firstAt ?? 0)).toBeGreaterThan(1000);
  });

  it('gives a late joiner what was already printed, then the rest', async () => {
    const code = 'import time\nprint("early", flush=True)\ntime.sleep(1.5)\nprint("late")';
    const accepted = await sandbox.http.post('/execute').send({ code }).expect(202);
    const id = (accepted.body as { execution_id: string }).execution_id;
    await pollUntil<ExecutionResultDto>(sandbox.http, `/execution/${id}`, (live) =>
      live.output.includes('early'),
    );

    const events = await readEventStream(`${sandbox.url}/execution/${id}/stream`);
    const outputs = events
      .filter((e) => e.event === 'output')
      .map((e) => (e.data as { data: string }).data);
    expect(outputs[0]).toBe('early\n');
    expect(outputs.join('')).toBe('early\nlate\n');
    expect(events.at(-1)?.event).toBe('result');
  });
});
