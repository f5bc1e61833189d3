import type Docker from 'dockerode';
import type { ContainerLimits } from './container-limits';
import { engineLimits } from './engine-limits';

/** The environment of every sandbox container (the runner adds the preload list to it). */
export const SANDBOX_ENV: readonly string[] = [
  'HOME=/tmp',
  'LANG=C.UTF-8',
  'OPENBLAS_NUM_THREADS=1',
  'MPLCONFIGDIR=/tmp',
  // No display in a sandbox: figures render to files (and never try a GUI toolkit).
  'MPLBACKEND=Agg',
];

/**
 * How every sandbox container is created, whatever it runs: user, attach, no network,
 * and the HostConfig that enforces the limits and the hardening. One place, so that the
 * bench's bare baseline gets exactly what a job gets.
 */
export function sandboxContainerOptions(
  limits: ContainerLimits,
): Omit<Docker.ContainerCreateOptions, 'Image' | 'Cmd' | 'Env' | 'Labels'> {
  // What differs between runtimes (runc, gVisor's runsc) is decided in engineLimits().
  const engine = engineLimits(limits);
  return {
    User: limits.user,
    WorkingDir: '/tmp',
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    // Both: NetworkMode none removes interfaces, NetworkDisabled skips network setup
    // entirely (which also makes cold starts faster).
    NetworkDisabled: true,
    HostConfig: {
      Runtime: engine.runtime,
      NetworkMode: 'none',
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: engine.pidsLimit,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${limits.tmpfsBytes}` },
      CapDrop: ['ALL'],
      SecurityOpt: [...engine.securityOpt],
      MaskedPaths: engine.maskedPaths && [...engine.maskedPaths],
      Ulimits: [
        { Name: 'nofile', Soft: limits.openFiles, Hard: limits.openFiles },
        { Name: 'fsize', Soft: limits.fileSizeBytes, Hard: limits.fileSizeBytes },
        { Name: 'core', Soft: 0, Hard: 0 },
        ...engine.extraUlimits,
      ],
      IpcMode: 'none',
      // Output travels over the attach stream; the engine keeps no log copy.
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
    },
  };
}
