/**
 * What every sandbox container gets on top of its resource limits: our own seccomp
 * profile and the list of /proc and /sys paths the engine hides from it.
 *
 * The seccomp profile is an allowlist written for what untrusted Python 3.11 (with
 * numpy and pandas), its threads and the processes it starts (fork, exec of /bin/sh,
 * subprocess, multiprocessing) actually call. Everything else fails with EPERM.
 * Compared with the engine's default profile it notably refuses io_uring, namespaces
 * (unshare, setns, clone with CLONE_NEW*), keyrings, bpf, perf, userfaultfd, ptrace
 * and cross-process memory access, legacy AIO, NUMA placement, kernel-state changes
 * and a few information side channels. The engine takes the profile's JSON text in
 * `HostConfig.SecurityOpt` as `seccomp=<json>`, in the format of its own profiles
 * (`names`, `action`, `errnoRet`, `args`, `archMap`). Syscall names the engine's
 * libseccomp does not know on the machine's architecture are skipped, not errors,
 * so one list serves x86_64 and aarch64.
 */

/** Action names as the engine's seccomp format spells them. */
export type SeccompAction = 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';

/** Argument comparisons used here; MASKED_EQ means `(arg & value) === valueTwo`. */
export type SeccompOperator = 'SCMP_CMP_EQ' | 'SCMP_CMP_MASKED_EQ';

export interface SeccompArgCondition {
  /** Zero-based argument position. */
  readonly index: number;
  /** The compared value; for MASKED_EQ, the mask. */
  readonly value: number;
  /** For MASKED_EQ, what the masked argument must equal; 0 otherwise. */
  readonly valueTwo: number;
  readonly op: SeccompOperator;
}

export interface SeccompRule {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  /** For SCMP_ACT_ERRNO: the errno the caller sees. */
  readonly errnoRet?: number;
  /** All must hold for the rule to match (one condition per argument index). */
  readonly args?: readonly SeccompArgCondition[];
  /** Carried into the JSON: the engine ignores it, a reader of the profile does not. */
  readonly comment: string;
}

export interface SeccompArchitecture {
  readonly architecture: string;
  readonly subArchitectures: readonly string[];
}

export interface SeccompProfile {
  readonly defaultAction: SeccompAction;
  readonly defaultErrnoRet: number;
  readonly archMap: readonly SeccompArchitecture[];
  readonly syscalls: readonly SeccompRule[];
}

const EPERM = 1;
const ENOSYS = 38;

/** Every clone flag that creates a namespace; clone(2) is allowed only with none of them. */
export const CLONE_NAMESPACE_FLAGS =
  0x00020000 | // CLONE_NEWNS
  0x02000000 | // CLONE_NEWCGROUP
  0x04000000 | // CLONE_NEWUTS
  0x08000000 | // CLONE_NEWIPC
  0x10000000 | // CLONE_NEWUSER
  0x20000000 | // CLONE_NEWPID
  0x40000000; // CLONE_NEWNET

/** personality(2) values that change nothing that matters: Linux, 32-bit Linux, query. */
const HARMLESS_PERSONALITIES = [0x0, 0x8, 0xffffffff] as const;

/** Socket families a Python program may use here (there is no network besides loopback). */
const ALLOWED_SOCKET_FAMILIES = {
  AF_UNIX: 1, // socketpair, multiprocessing.connection, local servers
  AF_INET: 2, // loopback servers and clients in tests
  AF_INET6: 10,
} as const;
const AF_NETLINK = 16;
const NETLINK_ROUTE = 0; // glibc's getaddrinfo and if_nameindex ask the kernel for interfaces

/** Syscalls allowed without conditions, grouped by what needs them. */
export const ALLOWED_SYSCALL_GROUPS: ReadonlyArray<{
  readonly purpose: string;
  readonly names: readonly string[];
}> = [
  {
    purpose: 'reading and writing open files, pipes and sockets',
    names: [
      'read',
      'readv',
      'pread64',
      'preadv',
      'preadv2',
      'write',
      'writev',
      'pwrite64',
      'pwritev',
      'pwritev2',
      'lseek',
      'sendfile', // shutil.copyfile
      'copy_file_range',
      'splice',
      'tee',
      'vmsplice',
      'fsync',
      'fdatasync', // sqlite3
      'sync_file_range',
      'fallocate',
      'ftruncate',
      'truncate',
      'fadvise64',
      'readahead',
      'flock',
      'fcntl',
      'ioctl', // isatty, FIONREAD; no tty is attached
    ],
  },
  {
    purpose: 'opening, inspecting and changing paths (the root is read-only, /tmp is tmpfs)',
    names: [
      'open',
      'openat',
      'openat2',
      'creat',
      'close',
      'close_range', // subprocess closes inherited fds in the child
      'stat',
      'lstat',
      'fstat',
      'newfstatat',
      'statx',
      'statfs',
      'fstatfs',
      'access',
      'faccessat',
      'faccessat2', // glibc tries it first and falls back only on ENOSYS
      'readlink',
      'readlinkat',
      'getdents',
      'getdents64',
      'getcwd',
      'chdir',
      'fchdir',
      'mkdir',
      'mkdirat',
      'rmdir',
      'unlink',
      'unlinkat',
      'rename',
      'renameat',
      'renameat2',
      'link',
      'linkat',
      'symlink',
      'symlinkat',
      'mknod', // os.mkfifo; device nodes need CAP_MKNOD, which is dropped
      'mknodat',
      'chmod',
      'fchmod',
      'fchmodat',
      'chown', // only to the caller's own ids: no capabilities
      'fchown',
      'lchown',
      'fchownat',
      'umask',
      'utime',
      'utimes',
      'utimensat',
      'futimesat',
      'getxattr', // shutil.copy2 copies extended attributes
      'lgetxattr',
      'fgetxattr',
      'listxattr',
      'llistxattr',
      'flistxattr',
      'setxattr',
      'lsetxattr',
      'fsetxattr',
      'removexattr',
      'lremovexattr',
      'fremovexattr',
      'inotify_init',
      'inotify_init1',
      'inotify_add_watch',
      'inotify_rm_watch',
    ],
  },
  {
    purpose: 'file descriptors, pipes and waiting on them',
    names: [
      'dup',
      'dup2',
      'dup3',
      'pipe',
      'pipe2',
      'poll',
      'ppoll',
      'select',
      'pselect6',
      'epoll_create',
      'epoll_create1',
      'epoll_ctl',
      'epoll_wait',
      'epoll_pwait',
      'epoll_pwait2',
      'eventfd',
      'eventfd2',
      'signalfd',
      'signalfd4',
      'timerfd_create',
      'timerfd_settime',
      'timerfd_gettime',
      'memfd_create',
    ],
  },
  {
    purpose: 'memory of the calling process',
    names: [
      'brk',
      'mmap',
      'munmap',
      'mremap',
      'mprotect',
      'madvise',
      'msync',
      'mlock', // bounded by RLIMIT_MEMLOCK
      'mlock2',
      'munlock',
      'mlockall',
      'munlockall',
      'membarrier',
      'get_mempolicy', // read-only NUMA query some allocators make
      'pkey_alloc',
      'pkey_free',
      'pkey_mprotect',
    ],
  },
  {
    purpose: 'threads, futexes and thread-local state (glibc, CPython, OpenBLAS)',
    names: [
      'futex',
      'futex_waitv',
      'set_robust_list',
      'get_robust_list',
      'set_tid_address',
      'rseq',
      'arch_prctl', // x86_64 TLS setup in every new process
      'gettid',
      'sched_yield',
      'sched_getaffinity', // os.cpu_count paths, OpenBLAS
      'sched_setaffinity',
      'sched_getparam',
      'sched_setparam',
      'sched_getscheduler',
      'sched_setscheduler', // real-time classes need CAP_SYS_NICE, which is dropped
      'sched_getattr',
      'sched_setattr',
      'sched_get_priority_max',
      'sched_get_priority_min',
      'sched_rr_get_interval',
      'getcpu',
    ],
  },
  {
    purpose: 'processes: fork, exec, wait (subprocess, multiprocessing, /bin/sh)',
    names: [
      'fork',
      'vfork', // _posixsubprocess uses vfork
      'execve',
      'execveat',
      'exit',
      'exit_group',
      'wait4',
      'waitid',
      'getpid',
      'getppid',
      'getpgid',
      'setpgid', // the harness puts the worker in its own process group
      'getpgrp',
      'getsid',
      'setsid', // start_new_session=True
      'prctl', // PR_SET_DUMPABLE (harness), PR_SET_NAME, PR_SET_PDEATHSIG
      'getpriority',
      'setpriority', // nice; raising priority needs CAP_SYS_NICE
      'getrlimit',
      'setrlimit', // lowering limits; raising a hard limit needs CAP_SYS_RESOURCE
      'prlimit64',
      'getrusage',
      'times',
      'pidfd_open',
      'pidfd_send_signal',
    ],
  },
  {
    purpose: 'identity: reading ids, and switching among the ids the caller already has',
    names: [
      'getuid',
      'geteuid',
      'getgid',
      'getegid',
      'getresuid',
      'getresgid',
      'getgroups',
      'setuid',
      'setgid',
      'setreuid',
      'setregid',
      'setresuid',
      'setresgid',
      'setgroups',
      'setfsuid',
      'setfsgid',
      'capget',
      'capset', // can only drop: the bounding set is empty
    ],
  },
  {
    purpose: 'signals, timers and clocks (time.sleep, signal.alarm, the harness deadline)',
    names: [
      'rt_sigaction',
      'rt_sigprocmask',
      'rt_sigreturn',
      'rt_sigsuspend',
      'rt_sigpending',
      'rt_sigtimedwait',
      'rt_sigqueueinfo',
      'rt_tgsigqueueinfo',
      'sigaltstack', // faulthandler
      'kill',
      'tkill',
      'tgkill',
      'pause',
      'restart_syscall',
      'nanosleep',
      'clock_nanosleep',
      'clock_gettime',
      'clock_getres',
      'gettimeofday',
      'time',
      'alarm',
      'getitimer',
      'setitimer',
      'timer_create',
      'timer_settime',
      'timer_gettime',
      'timer_getoverrun',
      'timer_delete',
    ],
  },
  {
    purpose: 'sockets on loopback and between processes (socket() itself is filtered by family)',
    names: [
      'socketpair',
      'bind',
      'listen',
      'accept',
      'accept4',
      'connect',
      'getsockname',
      'getpeername',
      'sendto',
      'recvfrom',
      'sendmsg',
      'recvmsg',
      'sendmmsg',
      'recvmmsg',
      'shutdown',
      'setsockopt',
      'getsockopt',
    ],
  },
  {
    purpose: 'System V and POSIX IPC, private to the container (IpcMode none)',
    names: [
      'shmget',
      'shmat',
      'shmdt',
      'shmctl',
      'semget',
      'semop',
      'semtimedop',
      'semctl',
      'msgget',
      'msgsnd',
      'msgrcv',
      'msgctl',
      'mq_open',
      'mq_unlink',
      'mq_timedsend',
      'mq_timedreceive',
      'mq_notify',
      'mq_getsetattr',
    ],
  },
  {
    purpose: 'about the system: randomness, uname, sysinfo',
    names: ['getrandom', 'uname', 'sysinfo'],
  },
];

/**
 * Notable syscalls the profile refuses, and why. Anything not allowed above is refused
 * anyway; these are also listed in the profile, so the refusal is explicit and its
 * errno (EPERM) does not depend on how the engine treats syscalls it has no rule for.
 */
export const DENIED_SYSCALLS: Readonly<Record<string, string>> = {
  io_uring_setup: 'io_uring: a large, often-exploited kernel surface no Python code needs',
  io_uring_enter: 'io_uring',
  io_uring_register: 'io_uring',
  io_setup: 'legacy AIO: unused by Python, a kernel surface of its own',
  io_submit: 'legacy AIO',
  io_getevents: 'legacy AIO',
  io_pgetevents: 'legacy AIO',
  io_cancel: 'legacy AIO',
  io_destroy: 'legacy AIO',
  unshare: 'new namespaces (above all user namespaces) open kernel paths meant for root',
  setns: 'joining namespaces',
  keyctl: 'kernel keyrings are not namespaced: keys of other containers',
  add_key: 'kernel keyrings',
  request_key: 'kernel keyrings',
  bpf: 'eBPF programs and maps: verifier bugs are a classic escape',
  perf_event_open: 'performance counters: side channels and a history of kernel bugs',
  userfaultfd: 'lets an exploit pause the kernel mid-copy (race widening)',
  ptrace: 'debugging other processes: the supervisor and its pipes',
  process_vm_readv: 'reads another process memory',
  process_vm_writev: 'writes another process memory',
  process_madvise: 'acts on another process memory',
  process_mrelease: 'acts on another process memory',
  pidfd_getfd: 'steals a file descriptor from another process',
  kcmp: 'compares kernel objects of other processes (fd and address-space probing)',
  move_pages: 'moves or locates pages of other processes',
  migrate_pages: 'NUMA placement of other processes',
  mbind: 'NUMA placement: a host scheduling matter',
  set_mempolicy: 'NUMA placement',
  set_mempolicy_home_node: 'NUMA placement',
  mincore: 'page-cache residency probing (side channel)',
  cachestat: 'page-cache residency probing (side channel)',
  mount: 'file system mounts',
  umount2: 'file system mounts',
  pivot_root: 'file system root',
  chroot: 'file system root',
  open_tree: 'new mount API',
  move_mount: 'new mount API',
  fsopen: 'new mount API',
  fsconfig: 'new mount API',
  fsmount: 'new mount API',
  fspick: 'new mount API',
  mount_setattr: 'new mount API',
  name_to_handle_at: 'file handles: escapes the mount namespace with open_by_handle_at',
  open_by_handle_at: 'opens any file on a file system by handle (container escape)',
  fanotify_init: 'file system-wide event monitoring',
  fanotify_mark: 'file system-wide event monitoring',
  quotactl: 'disk quotas of the host',
  quotactl_fd: 'disk quotas of the host',
  sync: 'flushes every host file system: a lever on other tenants',
  syncfs: 'flushes a whole host file system',
  acct: 'process accounting to a host file',
  swapon: 'host swap',
  swapoff: 'host swap',
  reboot: 'host power',
  kexec_load: 'replaces the host kernel',
  kexec_file_load: 'replaces the host kernel',
  init_module: 'loads kernel modules',
  finit_module: 'loads kernel modules',
  delete_module: 'unloads kernel modules',
  settimeofday: 'host clock',
  clock_settime: 'host clock',
  clock_adjtime: 'host clock',
  adjtimex: 'host clock',
  sethostname: 'host identity',
  setdomainname: 'host identity',
  syslog: 'kernel log: host addresses and other tenants activity',
  lookup_dcookie: 'kernel profiling internals',
  iopl: 'raw I/O port access',
  ioperm: 'raw I/O port access',
  modify_ldt: 'x86 descriptor tables: a history of kernel bugs',
  vm86: '32-bit virtual 8086 mode',
  vm86old: '32-bit virtual 8086 mode',
  uselib: 'obsolete loader entry with a history of bugs',
  ustat: 'obsolete',
  sysfs: 'obsolete',
  _sysctl: 'obsolete',
  vhangup: 'terminal hangup',
  memfd_secret: 'memory hidden from the kernel: no use here',
  landlock_create_ruleset: 'self-sandboxing: no use here',
  landlock_add_rule: 'self-sandboxing: no use here',
  landlock_restrict_self: 'self-sandboxing: no use here',
};

function allow(names: readonly string[], comment: string): SeccompRule {
  return { names, action: 'SCMP_ACT_ALLOW', comment };
}

function allowWhenArgEquals(name: string, index: number, value: number, comment: string) {
  return {
    names: [name],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index, value, valueTwo: 0, op: 'SCMP_CMP_EQ' }],
    comment,
  } satisfies SeccompRule;
}

/** The sandbox's seccomp profile, in the engine's JSON format. */
export const SANDBOX_SECCOMP_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: EPERM,
  // No 32-bit sub-architectures: the image has no 32-bit userland, so a 32-bit
  // syscall entry (int 0x80, the x32 ABI) only reaches the kernel from an exploit.
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: [] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: [] },
  ],
  syscalls: [
    ...ALLOWED_SYSCALL_GROUPS.map((group) => allow(group.names, group.purpose)),
    {
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      // flags is the first argument on x86_64 and aarch64.
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      comment: 'threads and processes, but no new namespaces',
    },
    {
      names: ['clone3'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: ENOSYS,
      // Its flags sit in a struct seccomp cannot look into; glibc falls back to clone.
      comment: 'ENOSYS so that glibc falls back to clone, whose flags are checked',
    },
    ...HARMLESS_PERSONALITIES.map((persona) =>
      allowWhenArgEquals('personality', 0, persona, 'only Linux, 32-bit Linux, or a query'),
    ),
    ...Object.entries(ALLOWED_SOCKET_FAMILIES).map(([family, value]) =>
      allowWhenArgEquals('socket', 0, value, `${family} sockets`),
    ),
    {
      names: ['socket'],
      action: 'SCMP_ACT_ALLOW',
      args: [
        { index: 0, value: AF_NETLINK, valueTwo: 0, op: 'SCMP_CMP_EQ' },
        { index: 2, value: NETLINK_ROUTE, valueTwo: 0, op: 'SCMP_CMP_EQ' },
      ],
      comment: 'netlink, route family only: interface lookups by glibc',
    },
    {
      names: Object.keys(DENIED_SYSCALLS),
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EPERM,
      comment: 'refused on purpose: see DENIED_SYSCALLS in container-hardening.ts',
    },
  ],
};

/**
 * Paths the engine hides: a file gets /dev/null bound over it (reads empty), a
 * directory an empty read-only tmpfs; paths missing on the host are skipped. Setting
 * this replaces the engine's own list, so its defaults come first.
 */
export const SANDBOX_MASKED_PATHS: readonly string[] = [
  // The engine's defaults.
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
  '/sys/devices/virtual/powercap', // energy counters: a power side channel
  // The host's kernel: how it was built and booted, what it loaded, where it lives.
  '/proc/cmdline',
  '/proc/config.gz',
  '/proc/version', // uname(2) still tells the release
  '/proc/kallsyms',
  '/proc/modules',
  '/sys/kernel/notes', // the kernel's build id
  '/proc/iomem',
  '/proc/ioports',
  // Host-wide counters that leak other tenants' activity or aid heap grooming.
  '/proc/interrupts',
  '/proc/softirqs',
  '/proc/schedstat',
  '/proc/diskstats',
  '/proc/buddyinfo',
  '/proc/zoneinfo',
  '/proc/pagetypeinfo',
  '/proc/slabinfo',
  '/proc/vmallocinfo',
  '/proc/key-users',
  // Identifies the host across jobs.
  '/proc/sys/kernel/random/boot_id',
];

/** The engine takes the profile's text, not a path: serialised once, sent with every create. */
const SANDBOX_SECCOMP_JSON = JSON.stringify(SANDBOX_SECCOMP_PROFILE);

/** `HostConfig.SecurityOpt`: no privilege gain through exec, and our seccomp profile. */
export function sandboxSecurityOpt(): string[] {
  return ['no-new-privileges', `seccomp=${SANDBOX_SECCOMP_JSON}`];
}

/** `HostConfig.MaskedPaths`. */
export function sandboxMaskedPaths(): string[] {
  return [...SANDBOX_MASKED_PATHS];
}
