/**
 * Where the host's CPU goes during a load level, per job: the engine's daemons, the
 * service process, the containers themselves, the shims and runc, this client, the rest.
 *
 * - dockerd, containerd, the service: utime + stime of their /proc/<pid>/stat;
 * - inside the containers: cgroup v1 `cpuacct/docker/cpuacct.usage`, which keeps the CPU
 *   of containers already removed (null where the engine uses another cgroup layout);
 * - shims and runc: the CPU of PID 1's reaped children (the shims, which reap runc and
 *   the containers' processes) less what ran inside the containers;
 * - this client: process.cpuUsage();
 * - the rest: the whole host (/proc/stat) less all of the above (the kernel's threads,
 *   interrupts, other processes).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CONTAINERS_CPUACCT = '/sys/fs/cgroup/cpuacct/docker/cpuacct.usage';

export interface CpuSnapshot {
  readonly hostJiffies: number;
  readonly dockerdJiffies: number;
  readonly containerdJiffies: number;
  readonly serviceJiffies: number;
  readonly pid1ChildrenJiffies: number;
  readonly containersNs: number | null;
  readonly clientMicros: number;
}

/** CPU per job in ms, by where it went. */
export interface CpuByProcess {
  readonly dockerd: number;
  readonly containerd: number;
  /** The service process; 0 for the bare path, which has none. */
  readonly service: number;
  readonly containers: number | null;
  readonly shimsAndRunc: number | null;
  readonly client: number;
  readonly rest: number | null;
}

/** `pid`: the service process, when the path has one. */
export function cpuSnapshot(hostJiffies: number, pid: number | null): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    hostJiffies,
    dockerdJiffies: ownJiffies(pidOf('dockerd')),
    containerdJiffies: ownJiffies(pidOf('containerd')),
    serviceJiffies: ownJiffies(pid),
    pid1ChildrenJiffies: reapedChildrenJiffies(1),
    containersNs: containersCpuNs(),
    clientMicros: usage.user + usage.system,
  };
}

export function cpuByProcess(
  before: CpuSnapshot,
  after: CpuSnapshot,
  jobs: number,
  userHz: number,
): CpuByProcess {
  const ms = (jiffies: number) => (jiffies * 1000) / userHz / jobs;
  const containers =
    before.containersNs === null || after.containersNs === null
      ? null
      : (after.containersNs - before.containersNs) / 1e6 / jobs;
  const host = ms(after.hostJiffies - before.hostJiffies);
  const dockerd = ms(after.dockerdJiffies - before.dockerdJiffies);
  const containerd = ms(after.containerdJiffies - before.containerdJiffies);
  const service = ms(after.serviceJiffies - before.serviceJiffies);
  const client = (after.clientMicros - before.clientMicros) / 1000 / jobs;
  const reaped = ms(after.pid1ChildrenJiffies - before.pid1ChildrenJiffies);
  const shimsAndRunc = containers === null ? null : reaped - containers;
  const rest =
    containers === null || shimsAndRunc === null
      ? null
      : host - dockerd - containerd - service - containers - shimsAndRunc - client;
  return { dockerd, containerd, service, containers, shimsAndRunc, client, rest };
}

function pidOf(name: string): number | null {
  try {
    const pids = execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).trim().split('\n');
    return Number(pids[0]) || null;
  } catch {
    return null; // not running here (a remote engine): counted in the rest
  }
}

/** utime + stime (fields 14 and 15 of /proc/<pid>/stat), or its children's (16, 17). */
function statJiffies(pid: number | null, children: boolean): number {
  if (pid === null) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command, which may hold spaces, in parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const at = children ? 13 : 11;
    return Number(fields[at]) + Number(fields[at + 1]);
  } catch {
    return 0;
  }
}

const ownJiffies = (pid: number | null) => statJiffies(pid, false);
const reapedChildrenJiffies = (pid: number) => statJiffies(pid, true);

function containersCpuNs(): number | null {
  try {
    return Number(readFileSync(CONTAINERS_CPUACCT, 'utf8'));
  } catch {
    return null;
  }
}
