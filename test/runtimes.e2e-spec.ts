import Docker from 'dockerode';
import { JOB_LABEL, SANDBOX_LABEL } from '@brain-net/runner';
import type { RuntimeListDto } from '../apps/sandbox/src/runtimes/dto/runtime.dto';
import { SandboxApp, run, startSandboxApp } from './support/sandbox-app';
import { eventually } from './support/eventually';

const DEFAULT_IMAGE = process.env.SANDBOX_IMAGE ?? 'brain-net-sandbox-runtime:3.11';
const MINIMAL_IMAGE = process.env.SANDBOX_MINIMAL_IMAGE ?? 'brain-net-sandbox-runtime-minimal:3.11';
const RUNTIMES = `python-3.11=${DEFAULT_IMAGE},python-3.11-minimal=${MINIMAL_IMAGE}`;

const SKLEARN_FIT = [
  'from sklearn.linear_model import LinearRegression',
  'model = LinearRegression().fit([[0], [1], [2]], [1, 3, 5])',
  'print(round(float(model.coef_[0]), 6))',
].join('\n');

const docker = new Docker();

/** The minimal image is built by `npm test`'s set-up (scripts/ensure-ready.sh --with-minimal-runtime). */
async function requireMinimalImage(): Promise<void> {
  try {
    await docker.getImage(MINIMAL_IMAGE).inspect();
  } catch {
    throw new Error(
      `${MINIMAL_IMAGE} is missing: build it with bash scripts/build-runtime-variant.sh`,
    );
  }
}

/** Named runtimes (SANDBOX_RUNTIMES) against the real engine: the default image and a numpy-only one. */
describe('Runtimes (real Docker engine)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    await requireMinimalImage();
    sandbox = await startSandboxApp({ SANDBOX_RUNTIMES: RUNTIMES });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('imports scikit-learn and fits a model in the default runtime', async () => {
    const result = await run(sandbox.http, { code: SKLEARN_FIT });
    expect(result).toMatchObject({
      status: 'completed',
      output: '2.0\n',
      runtime: 'python-3.11',
      module_hint: null,
    });
  });

  it('fails in the minimal runtime, with a hint that names the runtime that has it', async () => {
    const result = await run(sandbox.http, { code: SKLEARN_FIT, runtime: 'python-3.11-minimal' });
    expect(result).toMatchObject({ status: 'failed', runtime: 'python-3.11-minimal' });
    expect(result.error).toContain("ModuleNotFoundError: No module named 'sklearn'");
    expect(result.module_hint).toEqual({
      module: 'sklearn',
      runtimes: ['python-3.11'],
      unchecked: [],
    });
    // numpy is there all the same.
    const numpy = await run(sandbox.http, {
      code: 'import numpy\nprint(numpy.arange(3).sum())',
      runtime: 'python-3.11-minimal',
    });
    expect(numpy).toMatchObject({ status: 'completed', output: '3\n' });
  });

  it('refuses an unknown runtime, listing the known ones', async () => {
    const refused = await sandbox.http
      .post('/execute')
      .send({ code: 'print(1)', runtime: 'python-2.7' })
      .expect(400);
    expect(refused.body).toMatchObject({
      code: 'UNKNOWN_RUNTIME',
      detail: expect.stringContaining('python-3.11, python-3.11-minimal') as string,
    });
  });

  it('lists each runtime with the Python and package versions its image really has', async () => {
    const listed = (await sandbox.http.get('/runtimes').expect(200)).body as RuntimeListDto;
    expect(listed.items.map((item) => [item.name, item.image, item.default, item.error])).toEqual([
      ['python-3.11', DEFAULT_IMAGE, true, null],
      ['python-3.11-minimal', MINIMAL_IMAGE, false, null],
    ]);
    for (const item of listed.items) {
      const asked = await run(sandbox.http, {
        code: 'import numpy, platform\nprint(numpy.__version__, platform.python_version())',
        runtime: item.name,
      });
      const [numpy, python] = asked.output.trim().split(' ');
      expect(item.python_version).toBe(python);
      expect(item.packages).toContainEqual({ name: 'numpy', version: numpy });
      expect(item.image_id).toMatch(/^sha256:/);
      expect(item.modules).toEqual(expect.arrayContaining(['json', 'numpy']));
    }
    const [full, minimal] = listed.items;
    const names = (item: typeof full) => (item.packages ?? []).map((entry) => entry.name);
    expect(names(full)).toEqual(expect.arrayContaining(['pandas', 'scikit-learn', 'scipy']));
    expect(names(minimal)).not.toEqual(expect.arrayContaining(['pandas']));
    expect(minimal.modules).not.toContain('sklearn');
    expect(full.modules).toContain('sklearn');
  });
});

/** One warm-pool budget (SANDBOX_WARM_POOL=2) shared by the runtimes by recent demand. */
describe('Warm pool across runtimes (real Docker engine)', () => {
  let sandbox: SandboxApp;

  /** The images of this instance's warm containers, sorted. */
  async function warmImages(): Promise<string[]> {
    const containers = await docker.listContainers({
      all: true,
      filters: {
        label: [`${SANDBOX_LABEL}=${sandbox.instanceId}`, `${JOB_LABEL}=warm-pool`],
        status: ['running'],
      },
    });
    return containers.map((info) => info.Image).sort();
  }

  async function warmPoolIs(images: string[]): Promise<void> {
    const wanted = JSON.stringify(images);
    await eventually(
      async () => ((await warmImages()).join() === images.join() ? true : undefined),
      30_000,
      `warm containers of ${wanted}`,
    );
  }

  beforeAll(async () => {
    await requireMinimalImage();
    sandbox = await startSandboxApp({ SANDBOX_RUNTIMES: RUNTIMES, SANDBOX_WARM_POOL: '2' });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  it('warms the default runtime first, then follows the jobs to the runtime they ask for', async () => {
    await warmPoolIs([DEFAULT_IMAGE, DEFAULT_IMAGE]);
    const result = await run(sandbox.http, {
      code: 'import numpy\nprint(numpy.__version__)',
      runtime: 'python-3.11-minimal',
    });
    expect(result.status).toBe('completed');
    // The only demand was the minimal runtime's, one job: the one container kept moves there.
    await warmPoolIs([MINIMAL_IMAGE]);
    const warm = await run(sandbox.http, {
      code: 'import sys\nfirst = "numpy" in sys.modules\nimport numpy\nprint(first)',
      runtime: 'python-3.11-minimal',
    });
    // Served warm: it preloaded numpy, which the last job imported (pandas, which no job
    // imported, was left out), and this job waited for it if it was still on its way.
    expect(warm).toMatchObject({ status: 'completed', output: 'True\n' });
  });
});
