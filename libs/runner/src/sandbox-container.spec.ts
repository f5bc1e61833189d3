import type { ContainerLimits } from './container-limits';
import { JOB_CPU_SHARES, WARM_CPU_SHARES, sandboxContainerOptions } from './sandbox-container';

const limits: ContainerLimits = {
  memoryBytes: 256 * 1024 * 1024,
  cpus: 1,
  pids: 64,
  user: '10001:10001',
  tmpfsBytes: 64 * 1024 * 1024,
  openFiles: 256,
  fileSizeBytes: 64 * 1024 * 1024,
};

describe('sandboxContainerOptions', () => {
  it("gives a job's container the engine's default CPU weight", () => {
    expect(sandboxContainerOptions(limits).HostConfig?.CpuShares).toBe(JOB_CPU_SHARES);
  });

  it('lets a warm container wait at a low CPU weight under runc, which can raise it for its job', () => {
    expect(sandboxContainerOptions(limits, true).HostConfig?.CpuShares).toBe(WARM_CPU_SHARES);
    const runc = { ...limits, runtime: 'runc' };
    expect(sandboxContainerOptions(runc, true).HostConfig?.CpuShares).toBe(WARM_CPU_SHARES);
  });

  it("keeps a job's weight for a warm container under gVisor, which cannot change it later", () => {
    const runsc = { ...limits, runtime: 'runsc' };
    expect(sandboxContainerOptions(runsc, true).HostConfig?.CpuShares).toBe(JOB_CPU_SHARES);
  });
});
