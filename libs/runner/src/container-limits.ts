/** The resource and privilege limits applied to every sandbox container. */
export interface ContainerLimits {
  /** Memory limit; swap is set equal to it, so the job cannot swap past it. */
  readonly memoryBytes: number;
  /** CPU quota in CPUs (1 = one full core). */
  readonly cpus: number;
  /** Maximum number of processes and threads inside the container. */
  readonly pids: number;
  /** Size of the writable tmpfs mounted at /tmp (counted against memoryBytes). */
  readonly tmpfsBytes: number;
  /** RLIMIT_NOFILE. */
  readonly openFiles: number;
  /** RLIMIT_FSIZE: the largest file the job may write. */
  readonly fileSizeBytes: number;
  /** uid:gid the job runs as; never root. */
  readonly user: string;
  /**
   * The engine's container runtime (`HostConfig.Runtime`), e.g. `runsc` for gVisor;
   * absent: the engine's default (runc). A limit like the others: it changes how the
   * pids limit is enforced (see engineLimits()), a warm container serves only jobs of
   * its own runtime, and each execution record keeps the runtime that ran it.
   */
  readonly runtime?: string;
}

/**
 * Every field of ContainerLimits, spelled out so that the compiler refuses a new limit
 * that sameLimits() would not compare.
 */
const LIMIT_FIELDS: { readonly [Field in keyof Required<ContainerLimits>]: Field } = {
  memoryBytes: 'memoryBytes',
  cpus: 'cpus',
  pids: 'pids',
  tmpfsBytes: 'tmpfsBytes',
  openFiles: 'openFiles',
  fileSizeBytes: 'fileSizeBytes',
  user: 'user',
  runtime: 'runtime',
};

/**
 * Whether containers of these two limits are the same container: field by field, so
 * neither key order (a record read back from a store) nor an absent runtime written as
 * undefined makes a difference; any value that differs does.
 */
export function sameLimits(a: ContainerLimits, b: ContainerLimits): boolean {
  return Object.values(LIMIT_FIELDS).every((field) => a[field] === b[field]);
}
