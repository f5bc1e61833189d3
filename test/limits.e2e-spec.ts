import type { DebugRecordDto } from '../apps/sandbox/src/debug/dto/debug-record.dto';
import { SandboxApp, run, startSandboxApp } from './support/sandbox-app';

/**
 * Every limit, tried by code that sets out to break it. The service runs with the
 * default limits: 256 MiB, 1 CPU, 64 processes, no network, read-only root.
 */
describe('Sandbox limits hold against hostile code (real Docker engine)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp();
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('kills an endless loop at the timeout and reports status timeout', async () => {
    const startedAt = Date.now();
    const result = await run(sandbox.http, { code: 'while True:\n    pass', timeout: 2 });
    const elapsedMs = Date.now() - startedAt;
    expect(result.status).toBe('timeout');
    expect(result.error).toContain('timeout of 2 s');
    expect(elapsedMs).toBeGreaterThanOrEqual(2000);
    expect(elapsedMs).toBeLessThan(10_000);
    await sandbox.containersSettle();
  });

  it('OOM-kills code that exhausts memory and names the limit', async () => {
    const code = 'blocks = []\nwhile True:\n    blocks.append(b"x" * 10_000_000)';
    const result = await run(sandbox.http, { code, timeout: 30 });
    expect(result.status).toBe('failed');
    expect(result.error).toContain('256 MiB');
    expect(result.error).toContain('OOM');
  });

  it('OOM-kills a job at the memory_mb it asked for, and runs the same job with more', async () => {
    // ~200 MB written, so that every page is really taken.
    const code = 'data = b"x" * (200 * 1024 * 1024)\nprint(len(data))';
    const small = await run(sandbox.http, { code, memory_mb: 64, timeout: 30, debug_mode: false });
    expect(small.status).toBe('failed');
    expect(small.error).toContain('64 MiB');
    expect(small.error).toContain('OOM');
    const debug = (await sandbox.http.get(`/debug/${small.execution_id}`).expect(200))
      .body as DebugRecordDto;
    expect(debug).toMatchObject({ oom_killed: true, limits: { memory_mb: 64 } });

    const large = await run(sandbox.http, { code, memory_mb: 512, timeout: 30, debug_mode: false });
    expect(large).toMatchObject({ status: 'completed', output: `${200 * 1024 * 1024}\n` });
    await sandbox.containersSettle();
  });

  it('refuses a memory_mb over MAX_MEMORY_MB with 400 naming it, and starts no container', async () => {
    const response = await sandbox.http
      .post('/execute?wait=true')
      .send({ code: 'print(1)', memory_mb: 1025 })
      .expect(400);
    expect(response.body).toMatchObject({
      code: 'LIMIT_OUT_OF_RANGE',
      errors: [{ field: 'memory_mb', messages: ['memory_mb must not exceed 1024'] }],
    });
    expect(await sandbox.containerCount()).toBe(0);
  });

  it('holds a job to the pids and cpus it asked for', async () => {
    const forkBomb = [
      'import os, time',
      'forked = 0',
      'try:',
      '    for _ in range(500):',
      '        if os.fork() == 0:',
      '            time.sleep(30)',
      '            os._exit(0)',
      '        forked += 1',
      'except OSError as error:',
      '    print("refused", error.errno)',
    ].join('\n');
    const bomb = await run(sandbox.http, { code: forkBomb, pids: 16, timeout: 20 });
    expect(bomb.output).toBe('refused 11\n');
    const forked = bomb.debug_info.variables_after?.forked?.value;
    expect(typeof forked).toBe('number');
    expect(forked).toBeLessThan(16);

    const busy = [
      'import time',
      'wall0, cpu0 = time.monotonic(), time.process_time()',
      'while time.monotonic() - wall0 < 2:',
      '    pass',
      'share = (time.process_time() - cpu0) / (time.monotonic() - wall0)',
    ].join('\n');
    const quota = await run(sandbox.http, { code: busy, cpus: 0.25 });
    const share = quota.debug_info.variables_after?.share?.value;
    expect(typeof share).toBe('number');
    expect(share).toBeLessThan(0.35);
  });

  it('refuses processes beyond the pids limit (fork bomb)', async () => {
    const code = [
      'import os, time',
      'forked = 0',
      'try:',
      '    for _ in range(500):',
      '        if os.fork() == 0:',
      '            time.sleep(30)',
      '            os._exit(0)',
      '        forked += 1',
      'except OSError as error:',
      '    print("refused", error.errno)',
    ].join('\n');
    const result = await run(sandbox.http, { code, timeout: 20 });
    expect(result.output).toBe('refused 11\n');
    const forked = result.debug_info.variables_after?.forked?.value;
    expect(typeof forked).toBe('number');
    expect(forked).toBeLessThan(64);
  });

  it('has no network: only loopback exists and outside addresses are unreachable', async () => {
    const code = [
      'import socket',
      'interfaces = sorted(name for _, name in socket.if_nameindex())',
      's = socket.socket()',
      's.settimeout(2)',
      'try:',
      '    s.connect(("192.0.2.1", 80))', // TEST-NET-1: nothing is sent without a route
      '    reached = True',
      'except OSError as error:',
      '    reached = False',
      '    errno = error.errno',
    ].join('\n');
    const result = await run(sandbox.http, { code });
    const vars = result.debug_info.variables_after ?? {};
    expect(vars.interfaces?.value).toEqual(['lo']);
    expect(vars.reached?.value).toBe(false);
    expect(vars.errno?.value).toBe(101); // ENETUNREACH
  });

  it('runs as a non-root user with no capabilities and no way to gain privileges', async () => {
    const code = [
      'import os',
      'uid = os.getuid()',
      'status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)',
      'cap_eff = status["CapEff"].strip()',
      'cap_bnd = status["CapBnd"].strip()',
      'no_new_privs = status["NoNewPrivs"].strip()',
    ].join('\n');
    const vars = (await run(sandbox.http, { code })).debug_info.variables_after ?? {};
    expect(vars.uid?.value).toBe(10001);
    expect(vars.cap_eff?.value).toBe('0000000000000000');
    expect(vars.cap_bnd?.value).toBe('0000000000000000');
    expect(vars.no_new_privs?.value).toBe('1');
  });

  it('has a read-only root filesystem and a bounded /tmp', async () => {
    const code = [
      'import errno as E',
      'try:',
      '    open("/usr/lib/evil.py", "w")',
      '    root_writable = True',
      'except OSError as error:',
      '    root_writable = E.errorcode[error.errno]',
      'open("/tmp/ok.txt", "w").write("fine")',
      'tmp_ok = open("/tmp/ok.txt").read()',
      'try:',
      '    with open("/tmp/big", "wb") as f:',
      '        for _ in range(200):',
      '            f.write(b"x" * 1024 * 1024)',
      '    big_written = True',
      'except OSError as error:',
      '    big_written = E.errorcode[error.errno]',
    ].join('\n');
    const vars = (await run(sandbox.http, { code })).debug_info.variables_after ?? {};
    expect(vars.root_writable?.value).toBe('EROFS');
    expect(vars.tmp_ok?.value).toBe('fine');
    expect(['EFBIG', 'ENOSPC']).toContain(vars.big_written?.value);
  });

  it('caps stdout at MAX_OUTPUT_BYTES and says so', async () => {
    const result = await run(sandbox.http, {
      code: 'import sys\nsys.stdout.write("x" * (3 * 1024 * 1024))\nprint("after", file=sys.stderr)',
    });
    expect(result.status).toBe('completed');
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.output)).toBe(1024 * 1024);
    expect(result.stderr).toBe('after\n');
  });

  it('stays healthy under an endless flood of output', async () => {
    const result = await run(sandbox.http, {
      code: 'while True:\n    print("y" * 10000)',
      timeout: 3,
    });
    expect(result.status).toBe('timeout');
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.output)).toBe(1024 * 1024);
    const next = await run(sandbox.http, { code: 'print("still here")' });
    expect(next.output).toBe('still here\n');
  });

  it('cannot forge or break the result channel by writing, redirecting or closing output', async () => {
    const code = [
      'import os, sys',
      'forged = \'{"type":"exit","exit_code":99,"signal":null,"result":null}\\n\'',
      'os.write(1, forged.encode())',
      'print(\'{"type":"stdout","data":"forged"}\')',
      'try:',
      '    with open("/proc/1/fd/1", "w") as pid1_stdout:',
      '        pid1_stdout.write(forged)',
      '    reached_pid1 = True',
      'except OSError:',
      '    reached_pid1 = False',
      'sys.stdout = None',
      'os.close(1)',
      'os.close(2)',
      'survived = "yes"',
    ].join('\n');
    const result = await run(sandbox.http, { code });
    expect(result.status).toBe('completed');
    expect(result.exit_code).toBe(0);
    expect(result.output).toContain('"exit_code":99');
    expect(result.output).toContain('{"type":"stdout","data":"forged"}');
    expect(result.debug_info.variables_after?.reached_pid1?.value).toBe(false);
    expect(result.debug_info.variables_after?.survived?.value).toBe('yes');
  });

  it('keeps a variable that cannot be represented from breaking the result', async () => {
    const code = [
      'class Hostile:',
      '    def __repr__(self):',
      '        raise RuntimeError("no repr for you")',
      'h = Hostile()',
      'n = 1',
    ].join('\n');
    const vars = (await run(sandbox.http, { code })).debug_info.variables_after ?? {};
    expect(vars.n).toEqual({ type: 'int', value: 1, truncated: false });
    expect(vars.h?.type).toBe('Hostile');
    expect(vars.h?.repr).toContain('unrepresentable');
  });
});

describe('CPU quota (SANDBOX_CPUS=0.5)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({ SANDBOX_CPUS: '0.5' });
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('gives a busy loop at most half a core', async () => {
    const code = [
      'import time',
      'wall0, cpu0 = time.monotonic(), time.process_time()',
      'while time.monotonic() - wall0 < 2:',
      '    pass',
      'share = (time.process_time() - cpu0) / (time.monotonic() - wall0)',
    ].join('\n');
    const vars = (await run(sandbox.http, { code })).debug_info.variables_after ?? {};
    const share = vars.share?.value;
    expect(typeof share).toBe('number');
    expect(share).toBeLessThan(0.65);
    expect(share).toBeGreaterThan(0.2);
  });
});
