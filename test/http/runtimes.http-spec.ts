import type { HarnessException, HarnessResult } from '@brain-net/runner';
import { harnessExit } from '@brain-net/runner/testing/scripted-runner';
import type { BatchAcceptedDto } from '../../apps/sandbox/src/batch/dto/batch.dto';
import type { DebugRecordDto } from '../../apps/sandbox/src/debug/dto/debug-record.dto';
import type { ExecutionResultDto } from '../../apps/sandbox/src/execution/dto/execution-result.dto';
import type { RuntimeListDto } from '../../apps/sandbox/src/runtimes/dto/runtime.dto';
import {
  ScriptedSandboxApp,
  run,
  startScriptedSandboxApp,
  waitForReadiness,
  waitForStatus,
} from '../support/sandbox-app';

const DEFAULT_IMAGE = 'brain-net-sandbox-runtime:3.11';
const MINIMAL_IMAGE = 'brain-net-sandbox-runtime-minimal:3.11';
const RUNTIMES = `python-3.11=${DEFAULT_IMAGE},python-3.11-minimal=${MINIMAL_IMAGE}`;

const NOT_FOUND: HarnessException = {
  type: 'ModuleNotFoundError',
  message: "No module named 'sklearn.linear_model'",
  line: 1,
  frames: [],
  frames_omitted: 0,
  cause: null,
  cause_relation: null,
};

interface Problem {
  code: string;
  detail: string;
  errors?: { field: string; messages: string[] }[];
}

/** `runtime` on submits, GET /runtimes, the module hint and health per image (scripted runner). */
describe('Runtimes over HTTP (scripted runner)', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp({
      SANDBOX_RUNTIMES: RUNTIMES,
      ENGINE_CHECK_INTERVAL_MS: '100',
    });
    const { runner } = sandbox;
    runner.images.set(DEFAULT_IMAGE, 'sha256:full');
    runner.images.set(MINIMAL_IMAGE, 'sha256:minimal');
    runner.inventories.set('sha256:full', {
      pythonVersion: '3.11.2',
      packages: [
        { name: 'numpy', version: '1.24.2' },
        { name: 'scikit-learn', version: '1.2.1' },
      ],
      modules: ['json', 'numpy', 'sklearn'],
    });
    runner.inventories.set('sha256:minimal', {
      pythonVersion: '3.11.2',
      packages: [{ name: 'numpy', version: '1.24.2' }],
      modules: ['json', 'numpy'],
    });
    runner.script('from sklearn.linear_model import LinearRegression', {
      exit: {
        exit_code: 1,
        result: { ...(harnessExit().result as HarnessResult), exceptions: [NOT_FOUND] },
      },
    });
  });

  afterAll(() => sandbox.close());

  function imageOfJob(id: string): string | undefined {
    return sandbox.runner.jobs.find((job) => job.jobId === id)?.image;
  }

  it('runs a request in the runtime it names, and the default one without', async () => {
    const minimal = await run(sandbox.http, { code: 'print(1)', runtime: 'python-3.11-minimal' });
    expect(minimal).toMatchObject({ status: 'completed', runtime: 'python-3.11-minimal' });
    expect(imageOfJob(minimal.execution_id)).toBe(MINIMAL_IMAGE);

    const plain = await run(sandbox.http, { code: 'print(1)' });
    expect(plain).toMatchObject({ runtime: 'python-3.11', module_hint: null });
    expect(imageOfJob(plain.execution_id)).toBe(DEFAULT_IMAGE);
    const debug = (await sandbox.http.get(`/debug/${minimal.execution_id}`).expect(200))
      .body as DebugRecordDto;
    expect(debug).toMatchObject({ runtime: 'python-3.11-minimal', module_hint: null });
  });

  it('refuses an unknown runtime with 400 UNKNOWN_RUNTIME, listing the known ones', async () => {
    const refused = await sandbox.http
      .post('/execute')
      .send({ code: 'print(1)', runtime: 'python-3.12' })
      .expect(400);
    const problem = refused.body as Problem;
    expect(problem.code).toBe('UNKNOWN_RUNTIME');
    expect(problem.detail).toContain('python-3.11, python-3.11-minimal');
    expect(problem.errors).toEqual([
      { field: 'runtime', messages: ['runtime must be one of python-3.11, python-3.11-minimal'] },
    ]);

    const batch = await sandbox.http
      .post('/executions/batch')
      .send({ items: [{ code: 'print(1)' }, { code: 'print(2)', runtime: 'nope' }] })
      .expect(400);
    expect((batch.body as Problem).errors?.[0]?.field).toBe('items[1].runtime');
    await sandbox.http.post('/execute').send({ code: 'print(1)', runtime: 7 }).expect(400);
  });

  it('runs a shared-container batch in the one runtime it names', async () => {
    const accepted = (
      await sandbox.http
        .post('/executions/batch')
        .send({
          code: 'print(1)',
          inputs: [{}, {}],
          shared_container: true,
          runtime: 'python-3.11-minimal',
        })
        .expect(202)
    ).body as BatchAcceptedDto;
    const [first] = accepted.execution_ids;
    await waitForStatus(sandbox.http, first, (status) => status === 'completed');
    expect(sandbox.runner.batches.at(-1)?.image).toBe(MINIMAL_IMAGE);
    const item = (await sandbox.http.get(`/execution/${first}`).expect(200))
      .body as ExecutionResultDto;
    expect(item.runtime).toBe('python-3.11-minimal');
  });

  it('tells apart, by Idempotency-Key, submits that differ in runtime only', async () => {
    const send = (body: Record<string, unknown>) =>
      sandbox.http.post('/execute').set('Idempotency-Key', 'runtime-key').send(body);
    await send({ code: 'print(1)', runtime: 'python-3.11-minimal' }).expect(202);
    await send({ code: 'print(1)', runtime: 'python-3.11-minimal' }).expect(202);
    const other = await send({ code: 'print(1)' }).expect(422);
    expect((other.body as Problem).code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('lists the runtimes with their Python, packages and modules, read once per image', async () => {
    const listed = (await sandbox.http.get('/runtimes').expect(200)).body as RuntimeListDto;
    expect(listed.default).toBe('python-3.11');
    expect(listed.items).toEqual([
      {
        name: 'python-3.11',
        image: DEFAULT_IMAGE,
        image_id: 'sha256:full',
        default: true,
        python_version: '3.11.2',
        packages: [
          { name: 'numpy', version: '1.24.2' },
          { name: 'scikit-learn', version: '1.2.1' },
        ],
        modules: ['json', 'numpy', 'sklearn'],
        error: null,
      },
      expect.objectContaining({
        name: 'python-3.11-minimal',
        default: false,
        packages: [{ name: 'numpy', version: '1.24.2' }],
      }),
    ]);
    await sandbox.http.get('/runtimes').expect(200);
    const probed = sandbox.runner.probes.map((probe) => probe.tag);
    expect(probed.filter((tag) => tag === MINIMAL_IMAGE)).toHaveLength(1);
  });

  it('says which runtimes have the module a ModuleNotFoundError names, in the result and the debug record', async () => {
    const failed = await run(sandbox.http, {
      code: 'from sklearn.linear_model import LinearRegression',
      runtime: 'python-3.11-minimal',
    });
    expect(failed).toMatchObject({
      status: 'failed',
      runtime: 'python-3.11-minimal',
      module_hint: { module: 'sklearn', runtimes: ['python-3.11'], unchecked: [] },
    });
    const debug = (await sandbox.http.get(`/debug/${failed.execution_id}`).expect(200))
      .body as DebugRecordDto;
    expect(debug.module_hint).toEqual(failed.module_hint);
  });

  it('turns readiness red while a runtime’s image is missing, and refuses only that runtime’s jobs', async () => {
    sandbox.runner.images.set(MINIMAL_IMAGE, null);
    try {
      await waitForReadiness(sandbox.http, 503);
      const ready = await sandbox.http.get('/health/ready').expect(503);
      const details = (ready.body as { details: Record<string, Record<string, unknown>> }).details;
      expect(details.runtime_image).toMatchObject({ status: 'up', tag: DEFAULT_IMAGE });
      expect(details.runtime_images).toMatchObject({
        status: 'down',
        message: expect.stringContaining(`python-3.11-minimal (${MINIMAL_IMAGE})`) as string,
        runtimes: {
          'python-3.11': { tag: DEFAULT_IMAGE, id: 'sha256:full', default: true },
          'python-3.11-minimal': { tag: MINIMAL_IMAGE, id: null, default: false },
        },
      });
      const refused = await sandbox.http
        .post('/execute')
        .send({ code: 'print(1)', runtime: 'python-3.11-minimal' })
        .expect(503);
      expect((refused.body as Problem).code).toBe('RUNTIME_IMAGE_MISSING');
      await sandbox.http.post('/execute').send({ code: 'print(1)' }).expect(202);

      const listed = (await sandbox.http.get('/runtimes').expect(200)).body as RuntimeListDto;
      expect(listed.items[1]).toMatchObject({
        image_id: null,
        packages: null,
        error: `the Docker engine has no image ${MINIMAL_IMAGE}`,
      });
    } finally {
      sandbox.runner.images.set(MINIMAL_IMAGE, 'sha256:minimal');
    }
    await waitForReadiness(sandbox.http, 200);
  });
});
