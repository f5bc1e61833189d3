import type { HarnessProfile, SandboxJob } from '@brain-net/runner';
import type { DebugRecordDto } from '../../apps/sandbox/src/debug/dto/debug-record.dto';
import { ScriptedSandboxApp, run, startScriptedSandboxApp } from '../support/sandbox-app';

/** A PNG as far as its IHDR chunk, with `width` x `height`, then some bytes. */
function png(width: number, height: number): Buffer {
  const size = Buffer.alloc(8);
  size.writeUInt32BE(width, 0);
  size.writeUInt32BE(height, 4);
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a0000000d', 'hex'),
    Buffer.from('IHDR', 'latin1'),
    size,
    Buffer.from('rest of the image'),
  ]);
}

const PROFILE: HarnessProfile = {
  functions: [
    {
      function: 'slow',
      file: 'main.py',
      line: 1,
      calls: 1,
      self_ms: 900,
      cumulative_ms: 950,
      user_code: true,
    },
  ],
  functions_omitted: 0,
  allocations: [
    { file: 'main.py', line: 3, bytes: 8_000_000, blocks: 2, source: 'x = [0] * 10**6' },
  ],
  peak_traced_bytes: 8_100_000,
  imports: [{ module: 'json', ms: 1.5 }],
  imports_omitted: 0,
  error: null,
};

/** Figures and profiles from the runner's outcome to the result, the debug record and GET. */
describe('figures and profiles over HTTP (scripted runner)', () => {
  let sandbox: ScriptedSandboxApp;
  const image = png(640, 480);

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp({ MAX_FIGURES: '3', MAX_FIGURES_MB: '2' });
    sandbox.runner.script('draw()', {
      outcome: {
        figures: {
          figures: [
            { index: 0, title: 'Loss', png: { data: image, width: 640, height: 480 }, error: null },
            { index: 1, title: null, png: null, error: 'ValueError: cannot draw' },
          ],
          omittedCount: 4,
        },
      },
    });
    sandbox.runner.script('profiled()', {
      exit: {
        result: {
          duration_ms: 950,
          exceptions: [],
          variables_after: {},
          variables_omitted: 0,
          figures: null,
          figures_omitted: 0,
          profile: PROFILE,
        },
      },
    });
  });

  afterAll(() => sandbox.close());

  function jobOf(id: string): SandboxJob {
    const job = sandbox.runner.jobs.find((candidate) => candidate.jobId === id);
    if (!job) throw new Error(`the runner got no job ${id}`);
    return job;
  }

  it('asks the harness for figures within the configured budget, and no profile unless asked', async () => {
    const result = await run(sandbox.http, { code: 'pass' });

    expect(jobOf(result.execution_id).payload).toMatchObject({
      figures: { max_count: 3, max_bytes: 2 * 1024 * 1024, max_pixels: 4_000_000 },
    });
    expect(jobOf(result.execution_id).payload).not.toHaveProperty('profile');
    expect(result.figures).toEqual([]);
    expect(result.figures_omitted).toBe(0);
    expect(result.debug_info.profile).toBeNull();
  });

  it('lists the figures in the result and the debug record, and serves each PNG', async () => {
    const result = await run(sandbox.http, { code: 'draw()' });
    const id = result.execution_id;

    expect(result.figures).toEqual([
      {
        index: 0,
        title: 'Loss',
        width: 640,
        height: 480,
        size: image.length,
        media_type: 'image/png',
        url: `/execution/${id}/figures/0`,
        error: null,
      },
      {
        index: 1,
        title: null,
        width: null,
        height: null,
        size: null,
        media_type: 'image/png',
        url: null,
        error: 'ValueError: cannot draw',
      },
    ]);
    expect(result.figures_omitted).toBe(4);
    const debug = (await sandbox.http.get(`/debug/${id}`).expect(200)).body as DebugRecordDto;
    expect(debug.figures).toEqual(result.figures);

    const served = await sandbox.http
      .get(`/execution/${id}/figures/0`)
      .buffer(true)
      .parse((response, done) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200)
      .expect('Content-Type', 'image/png')
      .expect('X-Content-Type-Options', 'nosniff');
    expect(served.body).toEqual(image);
  });

  it('answers 404 for a figure without an image, an index it does not have, or not a number', async () => {
    const { execution_id: id } = await run(sandbox.http, { code: 'draw()' });

    for (const index of ['1', '2', '00', '-1', 'x']) {
      const response = await sandbox.http.get(`/execution/${id}/figures/${index}`).expect(404);
      expect(response.body).toMatchObject({ code: 'FILE_NOT_FOUND' });
    }
    const unrendered = await sandbox.http.get(`/execution/${id}/figures/1`);
    expect((unrendered.body as { detail: string }).detail).toContain('ValueError: cannot draw');
  });

  it('asks for a profile when the request does, and shows it in the result and the debug record', async () => {
    const result = await run(sandbox.http, { code: 'profiled()', profile: true });

    expect(jobOf(result.execution_id).payload).toMatchObject({ profile: true });
    expect(result.debug_info.profile).toEqual(PROFILE);
    const debug = (await sandbox.http.get(`/debug/${result.execution_id}`).expect(200))
      .body as DebugRecordDto;
    expect(debug.profile).toEqual(PROFILE);
  });

  it('refuses a profile that is not a boolean', async () => {
    const response = await sandbox.http
      .post('/execute')
      .send({ code: 'pass', profile: 'yes' })
      .expect(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
