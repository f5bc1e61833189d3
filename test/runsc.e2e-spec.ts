import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { SANDBOX_LABEL } from '@brain-net/runner';
import type { DebugRecordDto } from '../apps/sandbox/src/debug/dto/debug-record.dto';
import {
  SandboxApp,
  run,
  startSandboxApp,
  startSleeper,
  waitForReadiness,
} from './support/sandbox-app';

/**
 * The isolation essentials under gVisor (SANDBOX_RUNTIME=runsc): the limits of
 * limits.e2e-spec.ts and what sandbox-hardening.e2e-spec.ts shows, held by runsc.
 * Skipped, saying so, where the engine has no runsc (a laptop); CI registers it with
 * scripts/provision-engine.sh, so there it runs.
 */

const docker = new Docker();

/** Asked once, synchronously, so the suite can decide to skip before it is defined. */
function engineRuntimes(): { names: string[]; kernel: string } | string {
  try {
    const text = execFileSync(
      'docker',
      ['info', '--format', '{{json .Runtimes}}\t{{json .KernelVersion}}'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const [runtimes, kernel] = text.trim().split('\t');
    return {
      names: Object.keys(JSON.parse(runtimes) as Record<string, unknown>),
      kernel: JSON.parse(kernel) as string,
    };
  } catch (error: unknown) {
    return `cannot ask the engine (${error instanceof Error ? error.message : String(error)})`;
  }
}

const engine = engineRuntimes();
const skipReason =
  typeof engine === 'string'
    ? engine
    : engine.names.includes('runsc')
      ? null
      : `the engine has no runsc runtime (it has ${engine.names.join(', ')}); ` +
        'register it with scripts/provision-engine.sh (as root) to run these specs';
if (skipReason !== null) {
  console.warn(`runsc.e2e-spec: gVisor specs SKIPPED: ${skipReason}`);
}
const describeUnderRunsc = skipReason === null ? describe : describe.skip;
/** The kernel the engine's host runs: a job under gVisor must not see it. */
const hostKernel = typeof engine === 'string' ? '' : engine.kernel;

/** Our containers of one instance, inspected. */
async function inspectOwn(instanceId: string): Promise<Docker.ContainerInspectInfo[]> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${SANDBOX_LABEL}=${instanceId}`] },
  });
  return Promise.all(containers.map((info) => docker.getContainer(info.Id).inspect()));
}

/** Forks until refused; prints the errno it was refused with. */
const FORK_BOMB = [
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

async function debugOf(sandbox: SandboxApp, id: string): Promise<DebugRecordDto> {
  return (await sandbox.http.get(`/debug/${id}`).expect(200)).body as DebugRecordDto;
}

describeUnderRunsc('Isolation under gVisor (SANDBOX_RUNTIME=runsc, real Docker engine)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({ SANDBOX_RUNTIME: 'runsc' });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('runs print, and the debug record says runsc', async () => {
    const result = await run(sandbox.http, { code: 'print("hello from gVisor")' });
    expect(result).toMatchObject({
      status: 'completed',
      output: 'hello from gVisor\n',
      stderr: '',
    });
    const debug = await debugOf(sandbox, result.execution_id);
    expect(debug.limits).toMatchObject({ runtime: 'runsc', pids: 64, network: 'none' });
  });

  it('creates the container on runsc, with room for its threads and nproc for the job', async () => {
    const id = await startSleeper(sandbox.http);
    try {
      const [container] = await inspectOwn(sandbox.instanceId);
      expect(container.HostConfig.Runtime).toBe('runsc');
      expect(container.HostConfig.PidsLimit).toBe(1024);
      expect(container.HostConfig.Ulimits).toContainEqual({ Name: 'nproc', Soft: 64, Hard: 64 });
      // runsc ignores an OCI seccomp profile: none is sent (see engineLimits()).
      expect(container.HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
    } finally {
      await sandbox.http.delete(`/execution/${id}`).expect(200);
    }
  });

  it("runs the job on gVisor's kernel, not the host's, as uid 10001 with no capabilities", async () => {
    const code = [
      'import os',
      'release = os.uname().release',
      'uid = os.getuid()',
      'status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)',
      'cap_eff = status["CapEff"].strip()',
      'def contents(path):',
      '    try:',
      '        with open(path, "rb") as f:',
      '            return len(f.read())',
      '    except OSError:',
      '        return 0',
      'host_files = sum(contents(p) for p in ["/proc/kallsyms", "/proc/sys/kernel/random/boot_id",',
      '                                       "/proc/interrupts", "/proc/config.gz"])',
    ].join('\n');
    const vars = (await run(sandbox.http, { code })).debug_info.variables_after ?? {};
    // The engine reports its host's kernel; gVisor shows its own.
    expect(typeof vars.release?.value).toBe('string');
    expect(vars.release?.value).not.toBe(hostKernel);
    expect(vars.uid?.value).toBe(10001);
    expect(vars.cap_eff?.value).toBe('0000000000000000');
    expect(vars.host_files?.value).toBe(0);
  });

  it('forks five and more children', async () => {
    const code = [
      'import os',
      'children = []',
      'for _ in range(8):',
      '    pid = os.fork()',
      '    if pid == 0:',
      '        os._exit(7)',
      '    children.append(pid)',
      'codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]',
    ].join('\n');
    const result = await run(sandbox.http, { code });
    expect(result.status).toBe('completed');
    expect(result.debug_info.variables_after?.codes?.value).toEqual(Array(8).fill(7));
  });

  it('stops a fork bomb (at 256 MiB, by memory first) and runs the next job', async () => {
    const result = await run(sandbox.http, { code: FORK_BOMB, timeout: 20 });
    // Each process costs gVisor about 4.6 MiB of the container's memory, so 256 MiB
    // runs out before nproc (64) does: either way the bomb is stopped and reported.
    if (result.status === 'completed') {
      expect(result.output).toBe('refused 11\n');
      expect(result.debug_info.variables_after?.forked?.value).toBeLessThan(64);
    } else {
      expect(result).toMatchObject({ status: 'failed', exit_code: 137 });
      expect(result.error).toContain('OOM');
    }
    await sandbox.containersSettle();
    const next = await run(sandbox.http, { code: 'print("next")' });
    expect(next).toMatchObject({ status: 'completed', output: 'next\n' });
  });

  it('OOM-kills code that exhausts memory and names the limit', async () => {
    const code = 'blocks = []\nwhile True:\n    blocks.append(b"x" * 10_000_000)';
    const result = await run(sandbox.http, { code, timeout: 30 });
    expect(result.status).toBe('failed');
    expect(result.error).toContain('256 MiB');
    expect(result.error).toContain('OOM');
  });

  it('gives the code its stdin (an in-memory file on fd 0) and the memory_mb it asked for', async () => {
    const stdin = 'first\nsecond\n';
    const lines = await run(sandbox.http, { code: 'print(input(), input())', stdin });
    expect(lines).toMatchObject({ status: 'completed', output: 'first second\n' });
    // One file shared with the programs the code starts, read on from where it stopped.
    const shared = await run(sandbox.http, {
      code: 'import os, subprocess\nprint(os.read(0, 6), flush=True)\nsubprocess.run(["cat"])',
      stdin,
    });
    expect(shared).toMatchObject({ status: 'completed', output: "b'first\\n'\nsecond\n" });

    const code = 'data = b"x" * (200 * 1024 * 1024)\nprint(len(data))';
    const small = await run(sandbox.http, { code, memory_mb: 64, timeout: 30, debug_mode: false });
    expect(small.status).toBe('failed');
    expect(small.error).toContain('64 MiB');
    const large = await run(sandbox.http, { code, memory_mb: 512, timeout: 30, debug_mode: false });
    expect(large).toMatchObject({ status: 'completed', output: `${200 * 1024 * 1024}\n` });
  });

  it('has no network: only loopback exists and outside addresses are unreachable', async () => {
    const code = [
      'import socket',
      'interfaces = sorted(name for _, name in socket.if_nameindex())',
      's = socket.socket()',
      's.settimeout(2)',
      'try:',
      '    s.connect(("192.0.2.1", 80))',
      '    reached = True',
      'except OSError:',
      '    reached = False',
    ].join('\n');
    const vars = (await run(sandbox.http, { code })).debug_info.variables_after ?? {};
    expect(vars.interfaces?.value).toEqual(['lo']);
    expect(vars.reached?.value).toBe(false);
  });

  it('kills an endless loop at the timeout', async () => {
    const startedAt = Date.now();
    const result = await run(sandbox.http, { code: 'while True:\n    pass', timeout: 2 });
    expect(result.status).toBe('timeout');
    expect(result.error).toContain('timeout of 2 s');
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  });

  it('has a read-only root filesystem and a bounded /tmp', async () => {
    const code = [
      'import errno as E',
      'def write(path):',
      '    try:',
      '        open(path, "w").write("x")',
      '        return True',
      '    except OSError as error:',
      '        return E.errorcode[error.errno]',
      // /var/tmp is world-writable: only the read-only mount refuses it. gVisor checks
      // permissions before the mount, so /usr/lib answers EACCES there.
      'var_tmp = write("/var/tmp/evil")',
      'usr_lib = write("/usr/lib/evil.py")',
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
    expect(vars.var_tmp?.value).toBe('EROFS');
    expect(['EROFS', 'EACCES']).toContain(vars.usr_lib?.value);
    expect(vars.tmp_ok?.value).toBe('fine');
    expect(['EFBIG', 'ENOSPC']).toContain(vars.big_written?.value);
  });

  it('still runs threads, subprocesses, multiprocessing, numpy and pandas', async () => {
    const code = [
      'import json, multiprocessing, subprocess, threading',
      'import numpy as np, pandas as pd',
      'results = {}',
      'threads = [threading.Thread(target=lambda i=i: results.setdefault(i, i)) for i in range(4)]',
      'for t in threads: t.start()',
      'for t in threads: t.join()',
      'shell = subprocess.run(["/bin/sh", "-c", "echo hi"], capture_output=True, text=True).stdout',
      'def child(conn, n):',
      '    conn.send(n * n)',
      'receive, send = multiprocessing.Pipe(duplex=False)',
      'children = [multiprocessing.Process(target=child, args=(send, n)) for n in (2, 3)]',
      'for c in children: c.start()',
      'squares = sorted(receive.recv() for _ in children)',
      'for c in children: c.join()',
      'total = float(pd.DataFrame({"v": np.array([1.5, 2.5])})["v"].sum())',
      'print(json.dumps({"threads": len(results), "shell": shell, "squares": squares, "total": total}))',
    ].join('\n');
    const result = await run(sandbox.http, { code, timeout: 60 });
    expect({ status: result.status, stderr: result.stderr }).toEqual({
      status: 'completed',
      stderr: '',
    });
    expect(JSON.parse(result.output) as unknown).toEqual({
      threads: 4,
      shell: 'hi\n',
      squares: [4, 9],
      total: 4,
    });
  });
});

describeUnderRunsc('Fork bomb under gVisor with memory to spare (SANDBOX_MEMORY_MB=1024)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({ SANDBOX_RUNTIME: 'runsc', SANDBOX_MEMORY_MB: '1024' });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('stops it with nproc below SANDBOX_PIDS (64), as runc does with the pids limit', async () => {
    const result = await run(sandbox.http, { code: FORK_BOMB, timeout: 20 });
    expect(result).toMatchObject({ status: 'completed', output: 'refused 11\n' });
    const forked = result.debug_info.variables_after?.forked?.value;
    expect(typeof forked).toBe('number');
    expect(forked).toBeLessThan(64);
    expect(forked).toBeGreaterThan(50);
    const next = await run(sandbox.http, { code: 'print("next")' });
    expect(next).toMatchObject({ status: 'completed', output: 'next\n' });
  });
});

describeUnderRunsc('Warm pool under gVisor (SANDBOX_RUNTIME=runsc, SANDBOX_WARM_POOL=1)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({ SANDBOX_RUNTIME: 'runsc', SANDBOX_WARM_POOL: '1' });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('starts its warm containers on runsc too, and serves a job from them', async () => {
    const deadline = Date.now() + 20_000;
    let warm: Docker.ContainerInspectInfo[] = [];
    while (warm.length === 0 || !warm[0].State.Running) {
      if (Date.now() > deadline) throw new Error('the warm pool never filled');
      await new Promise((resolve) => setTimeout(resolve, 50));
      warm = await inspectOwn(sandbox.instanceId);
    }
    expect(warm[0].HostConfig.Runtime).toBe('runsc');
    expect(warm[0].HostConfig.PidsLimit).toBe(1024);
    const result = await run(sandbox.http, { code: 'print("warm")' });
    expect(result).toMatchObject({ status: 'completed', output: 'warm\n' });
    expect((await debugOf(sandbox, result.execution_id)).limits.runtime).toBe('runsc');
  });
});

describe('A runtime the engine does not have (SANDBOX_RUNTIME=no-such-runtime)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({ SANDBOX_RUNTIME: 'no-such-runtime' });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('turns readiness red, saying which runtime is missing and how to add it', async () => {
    await waitForReadiness(sandbox.http, 503);
    const ready = await sandbox.http.get('/health/ready').expect(503);
    const details = (ready.body as { details: Record<string, Record<string, unknown>> }).details;
    expect(details.docker_engine).toMatchObject({ status: 'down', runtime: 'no-such-runtime' });
    expect(details.docker_engine.message).toMatch(
      /^the engine has no runtime 'no-such-runtime' \(SANDBOX_RUNTIME; it has .*runc.*\): register it under "runtimes" in the engine's daemon\.json/,
    );
    // The image is there: only the runtime is missing.
    expect(details.runtime_image).toMatchObject({ status: 'up' });
    await sandbox.http.get('/health').expect(503);
    await sandbox.http.get('/health/live').expect(200);
  });

  it('answers POST /execute with 503 RUNTIME_UNAVAILABLE and a retry hint', async () => {
    const refused = await sandbox.http.post('/execute').send({ code: 'print(1)' }).expect(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toMatchObject({
      status: 503,
      code: 'RUNTIME_UNAVAILABLE',
      detail: expect.stringContaining("the engine has no runtime 'no-such-runtime'") as unknown,
    });
    await sandbox.containersSettle();
  });
});
