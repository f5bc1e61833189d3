import { sandboxMaskedPaths, sandboxSecurityOpt } from './container-hardening';
import type { ContainerLimits } from './container-limits';

/** gVisor's runtime, under the name scripts/provision-engine.sh registers it with. */
export const GVISOR_RUNTIME = 'runsc';

/**
 * Under gVisor the sandbox's own threads (its kernel, the Sentry, and its file proxy)
 * live in the container's cgroup and count against `PidsLimit`: at 64, or even 256, a
 * program that forks five children is killed with the whole sandbox (exit 2, no
 * output). From 1024 up they fit, and RLIMIT_NPROC bounds the job instead.
 */
export const GVISOR_MIN_PIDS_LIMIT = 1024;

export interface Ulimit {
  readonly Name: string;
  readonly Soft: number;
  readonly Hard: number;
}

/** How the engine is asked to enforce ContainerLimits on the container's runtime. */
export interface EngineLimits {
  /** `HostConfig.Runtime`; undefined: the engine's default. */
  readonly runtime: string | undefined;
  /** `HostConfig.PidsLimit`. */
  readonly pidsLimit: number;
  /** Ulimits on top of the common ones (nofile, fsize, core). */
  readonly extraUlimits: readonly Ulimit[];
  /** `HostConfig.SecurityOpt`. */
  readonly securityOpt: readonly string[];
  /** `HostConfig.MaskedPaths`; undefined: not sent. */
  readonly maskedPaths: readonly string[] | undefined;
}

/**
 * The same promise on every runtime: at most `limits.pids` processes and threads for
 * the job, and the container's kernel surface kept small.
 *
 * - runc: `PidsLimit` = pids, no RLIMIT_NPROC (it counts per uid across the whole host,
 *   so concurrent jobs would share it); our seccomp allowlist and masked paths.
 * - runsc: `PidsLimit` = max(pids, 1024) for gVisor's own threads, and RLIMIT_NPROC =
 *   pids, which gVisor's kernel counts inside this sandbox only (a fork bomb stops at
 *   pids − 1 children, as under runc). No OCI seccomp profile and no masked paths:
 *   runsc ignores both (the job sees `Seccomp: 0`, and io_uring or unshare reach
 *   gVisor's kernel, not the host's), its /proc is synthetic (no host cmdline, version,
 *   kallsyms or boot id), and the host kernel sees only the Sentry, which runs under
 *   gVisor's own seccomp filter. Enabling them with runsc's `--oci-seccomp` would break
 *   threads: that gVisor answers our `clone3` rule with EPERM instead of its ENOSYS, so
 *   glibc does not fall back to `clone`.
 */
export function engineLimits(limits: ContainerLimits): EngineLimits {
  if (limits.runtime === GVISOR_RUNTIME) {
    return {
      runtime: limits.runtime,
      pidsLimit: Math.max(limits.pids, GVISOR_MIN_PIDS_LIMIT),
      extraUlimits: [{ Name: 'nproc', Soft: limits.pids, Hard: limits.pids }],
      securityOpt: sandboxSecurityOpt().filter((option) => !option.startsWith('seccomp=')),
      maskedPaths: undefined,
    };
  }
  return {
    runtime: limits.runtime,
    pidsLimit: limits.pids,
    extraUlimits: [],
    securityOpt: sandboxSecurityOpt(),
    maskedPaths: sandboxMaskedPaths(),
  };
}
