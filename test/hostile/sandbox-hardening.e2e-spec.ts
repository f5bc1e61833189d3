import { SandboxApp, run, startSandboxApp } from '../support/sandbox-app';

/**
 * The seccomp profile and masked paths of container-hardening.ts, tried from inside a
 * real container: what they refuse is refused, and what Python work needs still runs.
 */

/** Raw syscalls by number: x86_64 first, aarch64 second (io_uring has one number everywhere). */
const SYSCALLS_PY = [
  'import ctypes, errno, os, platform',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'NR = {name: numbers[platform.machine() != "x86_64"] for name, numbers in {',
  '    "io_uring_setup": (425, 425), "clone": (56, 220), "bpf": (321, 280),',
  '    "keyctl": (250, 219), "userfaultfd": (323, 282), "perf_event_open": (298, 241),',
  '    "ptrace": (101, 117), "unshare": (272, 97),',
  '}.items()}',
  '# The result, or the name of the errno the kernel answered with.',
  'def syscall(name, *args):',
  '    ctypes.set_errno(0)',
  '    result = libc.syscall(NR[name], *[ctypes.c_long(a) for a in args])',
  '    return result if result >= 0 else errno.errorcode[ctypes.get_errno()]',
  'CLONE_NEWUSER, SIGCHLD = 0x10000000, 17',
].join('\n');

describe('Sandbox hardening: seccomp profile and masked paths (real Docker engine)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp();
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  /** Runs code whose last printed line is JSON, and returns that JSON. */
  async function probe(code: string, timeout = 30): Promise<Record<string, unknown>> {
    const result = await run(sandbox.http, { code: `${SYSCALLS_PY}\n${code}`, timeout });
    expect({ status: result.status, stderr: result.stderr }).toEqual({
      status: 'completed',
      stderr: '',
    });
    const lines = result.output.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
  }

  it('runs the job under a seccomp filter', async () => {
    const seen = await probe(
      [
        'import json',
        'status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)',
        'print(json.dumps({"mode": status["Seccomp"].strip(), "no_new_privs": status["NoNewPrivs"].strip()}))',
      ].join('\n'),
    );
    expect(seen).toEqual({ mode: '2', no_new_privs: '1' });
  });

  it('refuses io_uring_setup', async () => {
    const seen = await probe(
      [
        'import json',
        'params = ctypes.create_string_buffer(120)  # struct io_uring_params, zeroed',
        'print(json.dumps({"io_uring_setup": syscall("io_uring_setup", 8, ctypes.addressof(params))}))',
      ].join('\n'),
    );
    expect(['EPERM', 'ENOSYS']).toContain(seen.io_uring_setup);
  });

  it('refuses new user namespaces, by unshare and by clone, but still clones plain children', async () => {
    const seen = await probe(
      [
        'import json',
        'unshared = syscall("unshare", CLONE_NEWUSER)',
        'def clone(flags):',
        '    pid = syscall("clone", flags, 0, 0, 0, 0)',
        '    if pid == 0:',
        '        os._exit(0)  # the child, had the clone gone through',
        '    if isinstance(pid, int):',
        '        os.waitpid(pid, 0)',
        '        return "ok"',
        '    return pid',
        'print(json.dumps({"unshare": unshared, "clone_newuser": clone(CLONE_NEWUSER | SIGCHLD),',
        '                  "clone_plain": clone(SIGCHLD)}))',
      ].join('\n'),
    );
    expect(seen).toEqual({ unshare: 'EPERM', clone_newuser: 'EPERM', clone_plain: 'ok' });
  });

  it('refuses the kernel surfaces Python code never needs', async () => {
    const seen = await probe(
      [
        'import json, socket',
        'def open_socket(family, kind=socket.SOCK_STREAM):',
        '    try:',
        '        socket.socket(family, kind).close()',
        '        return "ok"',
        '    except OSError as error:',
        '        return errno.errorcode[error.errno]',
        'print(json.dumps({',
        '    "bpf": syscall("bpf", 0, 0, 0),',
        '    "keyctl": syscall("keyctl", 0, 0),',
        '    "userfaultfd": syscall("userfaultfd", 0),',
        '    "perf_event_open": syscall("perf_event_open", 0, 0, -1, -1, 0),',
        '    "ptrace": syscall("ptrace", 0, 0, 0, 0),  # PTRACE_TRACEME',
        '    "af_alg": open_socket(38, socket.SOCK_SEQPACKET),',
        '    "af_vsock": open_socket(40),',
        '    "af_unix": open_socket(socket.AF_UNIX),',
        '    "af_inet": open_socket(socket.AF_INET),',
        '}))',
      ].join('\n'),
    );
    expect(seen).toEqual({
      bpf: 'EPERM',
      keyctl: 'EPERM',
      userfaultfd: 'EPERM',
      perf_event_open: 'EPERM',
      ptrace: 'EPERM',
      af_alg: 'EPERM',
      af_vsock: 'EPERM',
      af_unix: 'ok',
      af_inet: 'ok',
    });
  });

  it('shows nothing of the host kernel in /proc, but keeps what Python reads', async () => {
    const seen = await probe(
      [
        'import json',
        'def contents(path):',
        '    try:',
        '        with open(path, "rb") as f:',
        '            return len(f.read())',
        '    except OSError as error:',
        '        return errno.errorcode[error.errno]',
        'hidden = ["/proc/cmdline", "/proc/config.gz", "/proc/version", "/proc/kallsyms",',
        '          "/proc/sys/kernel/random/boot_id", "/proc/interrupts"]',
        'kept = ["/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/self/status"]',
        'print(json.dumps({"hidden": {p: contents(p) for p in hidden},',
        '                  "kept": {p: contents(p) for p in kept}, "cpus": os.cpu_count()}))',
      ].join('\n'),
    );
    const hidden = seen.hidden as Record<string, number | string>;
    // Masked files read as empty (/dev/null is bound over them); a kernel built
    // without a file (config.gz needs CONFIG_IKCONFIG_PROC) has nothing to mask.
    expect(hidden['/proc/cmdline']).toBe(0);
    expect(hidden['/proc/version']).toBe(0);
    expect(hidden['/proc/kallsyms']).toBe(0);
    expect(hidden['/proc/sys/kernel/random/boot_id']).toBe(0);
    expect(hidden['/proc/interrupts']).toBe(0);
    expect([0, 'ENOENT']).toContain(hidden['/proc/config.gz']);
    for (const length of Object.values(seen.kept as Record<string, number | string>)) {
      expect(length).toBeGreaterThan(0);
    }
    expect(seen.cpus).toBeGreaterThan(0);
  });

  it('still runs threads, subprocesses, multiprocessing, numpy and pandas, files, sleeps and signals', async () => {
    const seen = await probe(
      [
        'import json, multiprocessing, signal, subprocess, threading, time',
        'import numpy as np, pandas as pd',
        'results = {}',
        'threads = [threading.Thread(target=lambda i=i: results.setdefault(f"t{i}", i)) for i in range(4)]',
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
        'frame = pd.DataFrame({"k": [1, 1, 2], "v": np.array([1.5, 2.5, 4.0])})',
        'sums = {str(k): v for k, v in frame.groupby("k")["v"].sum().items()}',
        'with open("/tmp/data.txt", "w") as f: f.write("kept")',
        'with open("/tmp/data.txt") as f: file_text = f.read()',
        'started = time.monotonic()',
        'time.sleep(0.2)',
        'slept = time.monotonic() - started >= 0.2',
        'caught = []',
        'signal.signal(signal.SIGUSR1, lambda *_: caught.append("usr1"))',
        'os.kill(os.getpid(), signal.SIGUSR1)',
        'signal.signal(signal.SIGALRM, lambda *_: caught.append("alarm"))',
        'signal.setitimer(signal.ITIMER_REAL, 0.05)',
        'time.sleep(0.5)',
        'print(json.dumps({"threads": len(results), "shell": shell, "squares": squares,',
        '    "exit_codes": [c.exitcode for c in children], "sums": sums, "file": file_text,',
        '    "slept": slept, "signals": caught}))',
      ].join('\n'),
    );
    expect(seen).toEqual({
      threads: 4,
      shell: 'hi\n',
      squares: [4, 9],
      exit_codes: [0, 0],
      sums: { '1': 4, '2': 4 },
      file: 'kept',
      slept: true,
      signals: ['usr1', 'alarm'],
    });
  });

  it('runs a plain job normally after all that', async () => {
    const result = await run(sandbox.http, { code: 'print(1)' });
    expect(result).toMatchObject({ status: 'completed', output: '1\n', stderr: '', exit_code: 0 });
  });
});
