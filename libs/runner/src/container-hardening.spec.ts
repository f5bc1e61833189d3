import {
  ALLOWED_SYSCALL_GROUPS,
  CLONE_NAMESPACE_FLAGS,
  DENIED_SYSCALLS,
  SANDBOX_SECCOMP_PROFILE,
  SeccompRule,
  sandboxMaskedPaths,
  sandboxSecurityOpt,
} from './container-hardening';

const allowedNames = ALLOWED_SYSCALL_GROUPS.flatMap((group) => group.names);

function rulesFor(name: string): SeccompRule[] {
  return SANDBOX_SECCOMP_PROFILE.syscalls.filter((rule) => rule.names.includes(name));
}

describe('the sandbox seccomp profile', () => {
  it('refuses with EPERM whatever it does not allow', () => {
    expect(SANDBOX_SECCOMP_PROFILE.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(SANDBOX_SECCOMP_PROFILE.defaultErrnoRet).toBe(1);
  });

  it('names each unconditionally allowed syscall once, and never one it denies', () => {
    expect(new Set(allowedNames).size).toBe(allowedNames.length);
    expect(allowedNames.filter((name) => name in DENIED_SYSCALLS)).toEqual([]);
  });

  it.each([
    'io_uring_setup',
    'io_uring_enter',
    'io_uring_register',
    'unshare',
    'setns',
    'keyctl',
    'bpf',
    'userfaultfd',
    'perf_event_open',
    'ptrace',
    'process_vm_readv',
    'mount',
    'open_by_handle_at',
  ])('denies %s with EPERM and allows it nowhere', (name) => {
    expect(rulesFor(name)).toEqual([
      expect.objectContaining({ action: 'SCMP_ACT_ERRNO', errnoRet: 1 }),
    ]);
  });

  it('allows clone only without namespace flags, and sends clone3 back to clone', () => {
    const [clone] = rulesFor('clone');
    expect(clone.action).toBe('SCMP_ACT_ALLOW');
    expect(clone.args).toEqual([
      { index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' },
    ]);
    // NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
    for (const flag of [
      0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000,
    ]) {
      expect(CLONE_NAMESPACE_FLAGS & flag).toBe(flag);
    }
    expect(rulesFor('clone3')).toEqual([
      expect.objectContaining({ action: 'SCMP_ACT_ERRNO', errnoRet: 38 }),
    ]);
  });

  it('allows personality and socket only with listed arguments', () => {
    for (const name of ['personality', 'socket']) {
      for (const rule of rulesFor(name)) {
        expect(rule.args?.length).toBeGreaterThan(0);
      }
    }
    const families = rulesFor('socket').map((rule) => rule.args?.[0]?.value);
    expect(families.sort((a = 0, b = 0) => a - b)).toEqual([1, 2, 10, 16]);
  });

  it('covers x86_64 and aarch64 and none of their 32-bit ABIs', () => {
    expect(SANDBOX_SECCOMP_PROFILE.archMap).toEqual([
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: [] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: [] },
    ]);
  });

  it('is handed to the engine as JSON text, with no-new-privileges', () => {
    const [noNewPrivileges, seccomp] = sandboxSecurityOpt();
    expect(noNewPrivileges).toBe('no-new-privileges');
    expect(seccomp.startsWith('seccomp=')).toBe(true);
    expect(JSON.parse(seccomp.slice('seccomp='.length))).toEqual(SANDBOX_SECCOMP_PROFILE);
  });
});

describe('the sandbox masked paths', () => {
  it("keep the engine's defaults, since setting them replaces the engine's list", () => {
    expect(sandboxMaskedPaths()).toEqual(
      expect.arrayContaining([
        '/proc/asound',
        '/proc/acpi',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/proc/scsi',
        '/sys/firmware',
      ]),
    );
  });

  it('hide the host kernel command line and configuration', () => {
    expect(sandboxMaskedPaths()).toEqual(
      expect.arrayContaining(['/proc/cmdline', '/proc/config.gz', '/proc/kallsyms']),
    );
  });

  it('leave alone what Python, numpy and os.cpu_count read', () => {
    const masked = sandboxMaskedPaths();
    for (const needed of [
      '/proc/self',
      '/proc/cpuinfo',
      '/proc/meminfo',
      '/proc/stat',
      '/sys/fs/cgroup',
      '/sys/devices/system/cpu',
    ]) {
      expect(masked.filter((path) => needed === path || needed.startsWith(`${path}/`))).toEqual([]);
    }
  });
});
