import { sandboxMaskedPaths, sandboxSecurityOpt } from './container-hardening';
import type { ContainerLimits } from './container-limits';
import { GVISOR_MIN_PIDS_LIMIT, engineLimits } from './engine-limits';

const limits: ContainerLimits = {
  memoryBytes: 256 * 1024 * 1024,
  cpus: 1,
  pids: 64,
  tmpfsBytes: 64 * 1024 * 1024,
  openFiles: 256,
  fileSizeBytes: 64 * 1024 * 1024,
  user: '10001:10001',
};

describe('engineLimits', () => {
  it("keeps today's limits on the engine's default runtime (runc)", () => {
    expect(engineLimits(limits)).toEqual({
      runtime: undefined,
      pidsLimit: 64,
      // RLIMIT_NPROC counts per uid across the host under runc: never set there.
      extraUlimits: [],
      securityOpt: sandboxSecurityOpt(),
      maskedPaths: sandboxMaskedPaths(),
    });
  });

  it('treats a runtime named runc like the default', () => {
    expect(engineLimits({ ...limits, runtime: 'runc' })).toMatchObject({
      runtime: 'runc',
      pidsLimit: 64,
      extraUlimits: [],
      maskedPaths: sandboxMaskedPaths(),
    });
  });

  it("under runsc leaves gVisor's threads room in PidsLimit and bounds the job with nproc", () => {
    const engine = engineLimits({ ...limits, runtime: 'runsc' });
    expect(engine.runtime).toBe('runsc');
    expect(engine.pidsLimit).toBe(GVISOR_MIN_PIDS_LIMIT);
    expect(engine.extraUlimits).toEqual([{ Name: 'nproc', Soft: 64, Hard: 64 }]);
  });

  it('under runsc keeps a pids limit above the floor as it is', () => {
    const engine = engineLimits({ ...limits, pids: 2048, runtime: 'runsc' });
    expect(engine.pidsLimit).toBe(2048);
    expect(engine.extraUlimits).toEqual([{ Name: 'nproc', Soft: 2048, Hard: 2048 }]);
  });

  it('under runsc sends neither the OCI seccomp profile nor masked paths, which runsc ignores', () => {
    const engine = engineLimits({ ...limits, runtime: 'runsc' });
    expect(engine.securityOpt).toEqual(['no-new-privileges']);
    expect(engine.maskedPaths).toBeUndefined();
  });
});
