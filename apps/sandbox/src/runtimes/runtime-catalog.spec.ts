import { Logger } from '@nestjs/common';
import { ScriptedRunner } from '@brain-net/runner/testing/scripted-runner';
import { loadConfig } from '../config/app-config';
import { FAILED_READ_RETRY_MS, RuntimeCatalog } from './runtime-catalog';

const DEFAULT_IMAGE = 'runtime:3.11';
const MINIMAL_IMAGE = 'runtime-minimal:3.11';

const FULL = {
  pythonVersion: '3.11.2',
  packages: [
    { name: 'numpy', version: '1.24.2' },
    { name: 'scikit-learn', version: '1.2.1' },
  ],
  modules: ['json', 'numpy', 'sklearn'],
};
const MINIMAL = { ...FULL, packages: [FULL.packages[0]], modules: ['json', 'numpy'] };

describe('RuntimeCatalog', () => {
  const config = loadConfig({
    SANDBOX_RUNTIMES: `python-3.11=${DEFAULT_IMAGE},python-3.11-minimal=${MINIMAL_IMAGE}`,
    SANDBOX_RUNTIME: 'runsc',
  });
  let runner: ScriptedRunner;
  let catalog: RuntimeCatalog;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    runner = new ScriptedRunner();
    runner.images.set(DEFAULT_IMAGE, 'sha256:full');
    runner.images.set(MINIMAL_IMAGE, 'sha256:minimal');
    runner.inventories.set('sha256:full', FULL);
    runner.inventories.set('sha256:minimal', MINIMAL);
    catalog = new RuntimeCatalog(config, runner);
  });

  afterEach(() => jest.restoreAllMocks());

  it('lists every runtime, the default first, with what its image holds', async () => {
    const entries = await catalog.entries();
    expect(entries.map((entry) => [entry.runtime.name, entry.isDefault, entry.imageId])).toEqual([
      ['python-3.11', true, 'sha256:full'],
      ['python-3.11-minimal', false, 'sha256:minimal'],
    ]);
    expect(entries[1]).toMatchObject({ inventory: { ...MINIMAL }, problem: null });
    // Read in a container as locked down as a job's: the configured limits, runtime included.
    expect(runner.probes).toEqual([
      { tag: DEFAULT_IMAGE, limits: config.limits },
      { tag: MINIMAL_IMAGE, limits: config.limits },
    ]);
  });

  it('reads each image once, concurrent asks included, and again once its tag names another image', async () => {
    await Promise.all([catalog.entries(), catalog.entries()]);
    await catalog.entries();
    expect(runner.probes).toHaveLength(2);

    runner.images.set(MINIMAL_IMAGE, 'sha256:rebuilt');
    const entries = await catalog.entries();
    expect(runner.probes.map((probe) => probe.tag)).toEqual([
      DEFAULT_IMAGE,
      MINIMAL_IMAGE,
      MINIMAL_IMAGE,
    ]);
    expect(entries[1].imageId).toBe('sha256:rebuilt');
  });

  it('lists an image the engine lacks with why, and reads nothing of it', async () => {
    runner.images.set(MINIMAL_IMAGE, null);
    const entries = await catalog.entries();
    expect(entries[1]).toMatchObject({
      imageId: null,
      inventory: null,
      modules: null,
      problem: `the Docker engine has no image ${MINIMAL_IMAGE}`,
    });
    expect(runner.probes.map((probe) => probe.tag)).toEqual([DEFAULT_IMAGE]);
  });

  it('lets a failed read stand a while before reading the image again', async () => {
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const probe = jest.spyOn(runner, 'probeImage');
    probe.mockRejectedValueOnce(new Error('python3: not found'));
    const [failed] = await catalog.entries();
    expect(failed).toMatchObject({
      imageId: 'sha256:full',
      inventory: null,
      problem: 'the image could not be read: python3: not found',
    });
    await catalog.entries();
    expect(probe.mock.calls.filter(([tag]) => tag === DEFAULT_IMAGE)).toHaveLength(1);

    now += FAILED_READ_RETRY_MS;
    const [read] = await catalog.entries();
    expect(read.inventory).toMatchObject(FULL);
    expect(probe.mock.calls.filter(([tag]) => tag === DEFAULT_IMAGE)).toHaveLength(2);
  });

  it('says which runtimes have a module, and which could not be checked', async () => {
    expect(await catalog.moduleHint('sklearn', 1000)).toEqual({
      module: 'sklearn',
      runtimes: ['python-3.11'],
      unchecked: [],
    });
    runner.images.set(MINIMAL_IMAGE, null);
    expect(await catalog.moduleHint('numpy', 1000)).toEqual({
      module: 'numpy',
      runtimes: ['python-3.11'],
      unchecked: ['python-3.11-minimal'],
    });
  });

  it('gives no hint when the images cannot be read in time', async () => {
    jest.spyOn(runner, 'probeImage').mockReturnValue(new Promise(() => undefined));
    expect(await catalog.moduleHint('sklearn', 20)).toBeNull();
  });
});
