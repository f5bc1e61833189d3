import { type ContainerLimits, sameLimits } from './container-limits';

const limits: ContainerLimits = {
  memoryBytes: 256 * 1024 * 1024,
  cpus: 1,
  pids: 64,
  tmpfsBytes: 64 * 1024 * 1024,
  openFiles: 256,
  fileSizeBytes: 64 * 1024 * 1024,
  user: '10001:10001',
};

describe('sameLimits', () => {
  it('holds for equal limits whatever their key order, and an absent runtime written as undefined', () => {
    const reordered = Object.fromEntries(Object.entries(limits).reverse()) as ContainerLimits;
    expect(sameLimits(limits, reordered)).toBe(true);
    expect(sameLimits(limits, { ...limits, runtime: undefined })).toBe(true);
    expect(sameLimits({ ...limits, runtime: 'runsc' }, { ...limits, runtime: 'runsc' })).toBe(true);
  });

  it.each<[string, Partial<ContainerLimits>]>([
    ['memory', { memoryBytes: 64 * 1024 * 1024 }],
    ['CPUs', { cpus: 1.5 }],
    ['pids', { pids: 65 }],
    ['tmpfs', { tmpfsBytes: 1 }],
    ['open files', { openFiles: 1024 }],
    ['file size', { fileSizeBytes: 1 }],
    ['user', { user: '10002:10002' }],
    ['runtime', { runtime: 'runsc' }],
    ['runtime: runc against the default', { runtime: 'runc' }],
  ])('tells apart limits that differ in %s', (_what, change) => {
    expect(sameLimits(limits, { ...limits, ...change })).toBe(false);
    expect(sameLimits({ ...limits, ...change }, limits)).toBe(false);
  });
});
